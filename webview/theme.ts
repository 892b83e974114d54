// Colours from the VS Code theme (--vscode-* CSS variables), re-read when the theme changes.

export interface Theme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  palette: string[];
  loss: string;
  smooth: string;
  accent: string;
  band: string;
  warn: string;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export function withAlpha(color: string, alpha: number): string {
  const hex = color.match(/^#([0-9a-f]{6})([0-9a-f]{2})?$/i);
  if (hex) {
    const n = parseInt(hex[1], 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  const rgb = color.match(/^rgba?\(([^)]+)\)$/);
  if (rgb) {
    const [r, g, b] = rgb[1].split(',').map((s) => s.trim());
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const hsl = color.match(/^hsl\(([^)]+)\)$/);
  if (hsl) return `hsla(${hsl[1]}, ${alpha})`;
  return color;
}

export function readTheme(): Theme {
  const dark = document.body.classList.contains('vscode-dark') || document.body.classList.contains('vscode-high-contrast');
  const foreground = cssVar('--vscode-editor-foreground', dark ? '#cccccc' : '#333333');
  const blue = cssVar('--vscode-charts-blue', '#3794ff');
  const red = cssVar('--vscode-charts-red', '#f14c4c');
  const green = cssVar('--vscode-charts-green', '#89d185');
  const yellow = cssVar('--vscode-charts-yellow', '#cca700');
  const orange = cssVar('--vscode-charts-orange', '#d18616');
  const purple = cssVar('--vscode-charts-purple', '#b180d7');
  return {
    foreground,
    muted: cssVar('--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    grid: withAlpha(cssVar('--vscode-charts-lines', dark ? '#808080' : '#808080'), 0.25),
    background: cssVar('--vscode-editor-background', dark ? '#1e1e1e' : '#ffffff'),
    palette: [blue, orange, green, purple, red, yellow],
    loss: withAlpha(blue, 0.35),
    smooth: blue,
    accent: green,
    band: withAlpha(blue, 0.18),
    warn: red,
  };
}

export function onThemeChange(callback: () => void): void {
  new MutationObserver(() => callback()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
