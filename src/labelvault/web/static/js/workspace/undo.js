// Undo/redo stack of reversible changes: each entry is a list of {cid, before, after} object states.

export class UndoStack {
  constructor(limit = 500) {
    this.limit = limit;
    this.done = [];
    this.undone = [];
  }

  push(entry) {
    this.done.push(entry);
    if (this.done.length > this.limit) this.done.shift();
    this.undone = [];
  }

  get canUndo() { return this.done.length > 0; }
  get canRedo() { return this.undone.length > 0; }

  /** Returns the entry to revert (apply `before` states in reverse order), or null. */
  undo() {
    const e = this.done.pop();
    if (e) this.undone.push(e);
    return e || null;
  }

  redo() {
    const e = this.undone.pop();
    if (e) this.done.push(e);
    return e || null;
  }

  clear() { this.done = []; this.undone = []; }
}
