import { Iso, Token, invalid } from '@tether/contracts';
import { z } from 'zod';
import { checkpointCorrupt } from './checkpoint-errors.ts';

/** The first line of a checkpoint: everything but the scrollback, whose length it records (so truncation shows). */
export const CheckpointHeader = z
  .object({
    v: z.literal(1),
    terminalId: Token,
    takenAt: Iso,
    cwd: z.string().min(1),
    /** The terminal's environment, sealed with the installation key (SecretBox): never in the clear. */
    envSealed: z.string().min(1),
    scrollbackBytes: z.number().int().nonnegative(),
  })
  .strict();
export type CheckpointHeader = z.infer<typeof CheckpointHeader>;

/** A terminal's checkpoint: its header fields and the raw bytes of its scrollback. */
export type CheckpointBody = Omit<CheckpointHeader, 'scrollbackBytes'> & { scrollback: Uint8Array };

const NL = 0x0a;

/** One JSON header line, '\n', then the scrollback bytes as they are (no base64: a 16 MiB scrollback stays 16 MiB). */
export function encodeCheckpoint(b: CheckpointBody): Uint8Array {
  const { scrollback, ...fields } = b;
  const header = CheckpointHeader.safeParse({ ...fields, scrollbackBytes: scrollback.length });
  if (!header.success) throw invalid(`checkpoint of terminal ${String(b.terminalId)}`, header.error);
  // JSON escapes every newline inside a string, so the header is one line whatever the cwd holds.
  const line = Buffer.from(`${JSON.stringify(header.data)}\n`, 'utf8');
  return Buffer.concat([line, scrollback]);
}

/** The checkpoint in `bytes`; CHECKPOINT_CORRUPT for a bad header, another version, or a truncated or padded body. */
export function decodeCheckpoint(bytes: Uint8Array): CheckpointBody {
  const nl = bytes.indexOf(NL);
  if (nl < 0) throw checkpointCorrupt(`no header line in ${bytes.length} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, nl).toString('utf8'));
  } catch (err) {
    throw checkpointCorrupt(`its header is not JSON (${(err as Error).message})`, undefined, err);
  }
  const v = (json as { v?: unknown } | null)?.v;
  if (v !== 1) throw checkpointCorrupt(`version ${JSON.stringify(v)} is not 1`);
  const parsed = CheckpointHeader.safeParse(json);
  if (!parsed.success)
    throw checkpointCorrupt(
      `bad header: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  const { scrollbackBytes, ...fields } = parsed.data;
  const scrollback = bytes.subarray(nl + 1);
  if (scrollback.length !== scrollbackBytes)
    throw checkpointCorrupt(
      `${scrollback.length < scrollbackBytes ? 'truncated' : 'padded'}: ${scrollback.length} scrollback bytes where the header says ${scrollbackBytes}`,
      fields.terminalId,
    );
  return { ...fields, scrollback };
}

/**
 * The scrollback bound: the last `max` bytes of `buf`. A cut in the middle of a line moves forward
 * to the next line, so the snapshot never starts with half a UTF-8 character or escape sequence;
 * when no line starts after the cut, it only skips UTF-8 continuation bytes instead of dropping all.
 */
export function lastBytes(buf: Uint8Array, max: number): Uint8Array {
  if (max <= 0) return buf.subarray(buf.length);
  if (buf.length <= max) return buf;
  const cut = buf.length - max;
  if (buf[cut - 1] === NL) return buf.subarray(cut);
  const nl = buf.indexOf(NL, cut);
  if (nl >= 0 && nl + 1 < buf.length) return buf.subarray(nl + 1);
  let start = cut;
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
  return buf.subarray(start);
}
