import qrcode from 'qrcode-generator';

const QUIET = 2; // modules of light border a reader needs around the code
/** Half blocks, by (top dark, bottom dark): two rows of modules to a line of text. */
const HALVES = [' ', '▄', '▀', '█'] as const;

/**
 * A QR code of `text` for a terminal: dark modules black on white whatever the terminal's colours (ANSI 30;47),
 * two module rows per line, so a phone can read a link off the screen.
 */
export function qrText(text: string): string {
  const qr = qrcode(0, 'L');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const dark = (r: number, c: number) => r >= 0 && c >= 0 && r < n && c < n && qr.isDark(r, c);
  const lines: string[] = [];
  for (let r = -QUIET; r < n + QUIET; r += 2) {
    let line = '';
    for (let c = -QUIET; c < n + QUIET; c++) line += HALVES[(dark(r, c) ? 2 : 0) + (dark(r + 1, c) ? 1 : 0)];
    lines.push(`\x1b[30;47m${line}\x1b[0m`);
  }
  return lines.join('\n');
}
