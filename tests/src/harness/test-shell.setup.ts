// vitest setupFile: terminals in tests run bash without the machine's rc files, so a ~/.bashrc that
// stalls (pyenv's rehash waits 60 s on a lock a killed shell left) cannot decide whether a test passes.
// Set here, it reaches every `tether` child process; in-process servers take it from useControlPlane.

export const TEST_SHELL = 'bash --noprofile --norc';
process.env.TETHER_SHELL = TEST_SHELL;
