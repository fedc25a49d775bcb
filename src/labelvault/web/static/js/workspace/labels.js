// The job's labels for the tools and the panel: lookup, the current drawing label, which label fits which kind.

export const canTag = (label) => label.type === 'any' || label.type === 'tag';
export const canDraw = (label, type) => (label.type === 'any' && type !== 'skeleton') || label.type === type;

export class Labels {
  constructor(list) {
    this.list = list;
    this.byId = new Map(list.map((l) => [l.id, l]));
    this.currentId = list.find((l) => l.type !== 'tag')?.id ?? list[0]?.id;
  }

  get current() { return this.byId.get(this.currentId); }

  /** The label a new shape of `type` gets: the current one when it allows that type. */
  forType(type) {
    const cur = this.current;
    // A skeleton needs a skeleton label (its points come from the label's template).
    if (type === 'skeleton') return cur?.type === 'skeleton' ? cur : this.list.find((l) => l.type === 'skeleton') || null;
    if (cur && canDraw(cur, type)) return cur;
    return this.list.find((l) => l.type === type) || this.list.find((l) => l.type === 'any') || cur;
  }

  /** Labels an object may switch to: those of its kind, and always the one it has. */
  choicesFor(o) {
    return this.list.filter((l) => l.id === o.label_id || (o.kind === 'tag' ? canTag(l) : canDraw(l, o.type)));
  }

  defaults(label) {
    const out = {};
    for (const a of label?.attributes || []) out[a.id] = a.default_value !== '' && a.default_value != null ? a.default_value : (a.values[0] ?? '');
    return out;
  }
}
