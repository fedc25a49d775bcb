// The Image menu's sliders: brightness, contrast, saturation and gamma of the frame (CSS filters; gamma through an SVG transfer function).
import { h } from '../ui.js';

let seq = 0;

/** The sliders for `canvas` (the image layer); returns the elements to put in the menu. */
export function imageAdjustments(canvas) {
  const id = `lv-gamma-${++seq}`;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', '0'); svg.setAttribute('height', '0');
  svg.style.position = 'absolute';
  const filter = document.createElementNS(ns, 'filter');
  filter.id = id;
  filter.setAttribute('color-interpolation-filters', 'sRGB');
  const transfer = document.createElementNS(ns, 'feComponentTransfer');
  const funcs = ['R', 'G', 'B'].map((c) => {
    const f = document.createElementNS(ns, `feFunc${c}`);
    f.setAttribute('type', 'gamma'); f.setAttribute('amplitude', '1'); f.setAttribute('offset', '0'); f.setAttribute('exponent', '1');
    transfer.append(f);
    return f;
  });
  filter.append(transfer); svg.append(filter);
  const values = { brightness: 100, contrast: 100, saturation: 100, gamma: 100 };
  const apply = () => {
    // A gamma of g brightens mid-tones: output = input^(1/g), as image viewers define it.
    for (const f of funcs) f.setAttribute('exponent', String(100 / values.gamma));
    const gamma = values.gamma === 100 ? '' : ` url(#${id})`;
    canvas.style.filter = `brightness(${values.brightness}%) contrast(${values.contrast}%) saturate(${values.saturation}%)${gamma}`;
  };
  const slider = (label, key, min, max) => h('label', { class: 'adjust' }, label,
    h('input', { type: 'range', min, max, value: values[key], 'aria-label': label, oninput: (e) => { values[key] = Number(e.target.value); apply(); } }));
  return [svg, slider('Brightness', 'brightness', 20, 300), slider('Contrast', 'contrast', 20, 300),
    slider('Saturation', 'saturation', 0, 300), slider('Gamma', 'gamma', 20, 300)];
}
