// Inline SVG icons (24×24 strokes) so the UI needs no icon font and renders the same offline everywhere.

const P = {
  select: 'M5 3l14 8-6 2-3 6z',
  rectangle: 'M4 6h16v12H4z',
  polygon: 'M12 3l8 6-3 11H7L4 9z',
  polyline: 'M3 18l5-9 5 6 8-11',
  points: 'M6 6h.01M18 7h.01M12 12h.01M7 18h.01M17 17h.01',
  ellipse: 'M12 5c5 0 9 3.1 9 7s-4 7-9 7-9-3.1-9-7 4-7 9-7z',
  brush: 'M18 3l3 3-9 9-3-3zM9 12l3 3c0 3-2 6-7 6 1-2 1-3 1-5 0-2 1-4 3-4z',
  eraser: 'M16 4l5 5-10 10H6l-3-3zM9 21h12M8 11l6 6',
  tag: 'M3 12V3h9l9 9-9 9zM7.5 7.5h.01',
  done: 'M5 12l5 5 9-11',
  first: 'M6 5v14M18 5l-9 7 9 7z',
  back10: 'M11 5l-8 7 8 7zM21 5l-8 7 8 7z',
  prev: 'M16 5l-10 7 10 7z',
  next: 'M8 5l10 7-10 7z',
  fwd10: 'M3 5l8 7-8 7zM13 5l8 7-8 7z',
  last: 'M18 5v14M6 5l9 7-9 7z',
  undo: 'M9 14L4 9l5-5M4 9h11a5 5 0 010 10h-3',
  redo: 'M15 14l5-5-5-5M20 9H9a5 5 0 000 10h3',
  zoomIn: 'M11 4a7 7 0 110 14 7 7 0 010-14zM21 21l-5-5M11 8v6M8 11h6',
  zoomOut: 'M11 4a7 7 0 110 14 7 7 0 010-14zM21 21l-5-5M8 11h6',
  keyboard: 'M3 6h18v12H3zM7 10h.01M11 10h.01M15 10h.01M7 14h10',
  eye: 'M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12zM12 9a3 3 0 110 6 3 3 0 010-6z',
  eyeOff: 'M3 3l18 18M10.6 6.1A10 10 0 0122 12s-1.2 2.1-3.4 4M6.5 6.6C3.8 8.3 2 12 2 12s4 7 10 7c1.7 0 3.2-.5 4.5-1.2',
  lock: 'M5 11h14v10H5zM8 11V7a4 4 0 018 0v4',
  unlock: 'M5 11h14v10H5zM8 11V7a4 4 0 017.8-1.2',
  back: 'M19 12H5M11 5l-7 7 7 7',
  cuboid: 'M4 8h11v11H4zM4 8l4-4h11v11l-4 4M15 8l4-4',
  skeleton: 'M12 4v7M12 11l-5 9M12 11l5 9M6 8h12M12 4h.01',
  fullscreen: 'M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5',
};

/** An <svg> element for icon `name`; decorative, so the button around it carries the accessible name. */
export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon-svg');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', P[name] || '');
  svg.append(path);
  return svg;
}
