import { z } from 'zod';
import { Token } from '../ids.ts';
import { AccessMode, ShareBackend } from '../policy.ts';
import { ShareEndReason } from '../entities/sharing.ts';
import { HandoffBadge } from './handoff.ts';

// HTTP bodies and views of terminal sharing; the same shapes are the `result` of the NATS commands.

const ttl = z
  .number()
  .int()
  .positive()
  .max(7 * 86_400_000);
const name = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\s].*$/, 'a name cannot start with a space');

export const ShareCreateBody = z
  .object({
    terminal_id: Token,
    backend: ShareBackend.default('native'),
    /** The most a participant may be granted: read-only shares never accept input. */
    access: AccessMode.default('read'),
    ttl_ms: ttl.optional(),
    /** Name of the first participant, whose link the reply carries (native backend). */
    participant: name.default('viewer'),
  })
  .strict();
export const ShareExtendBody = z.object({ ttl_ms: ttl }).strict();
export const ShareRevokeBody = z.object({ reason: z.string().min(1).max(1_000).optional() }).strict();
export const ShareSwitchBody = z.object({ backend: ShareBackend }).strict();
export const ParticipantInviteBody = z.object({ name }).strict();
export const GrantWriteBody = z.object({ ttl_ms: ttl.default(15 * 60_000) }).strict();
export const ReasonBody = ShareRevokeBody;
export const ApprovalApproveBody = z.object({ note: z.string().max(1_000).optional() }).strict();
export const ApprovalDenyBody = z.object({ reason: z.string().min(1).max(1_000) }).strict();

/** Share commands that run across entities (policy gate, slots, tokens); on NATS like any other command. */
export const shareApplicationCommands = {
  create: {
    data: ShareCreateBody,
    creates: true,
    summary:
      'Share a terminal: policy gate, per-terminal limit, TTL; the result carries the first participant link (shown once)',
  },
  invite: {
    data: ParticipantInviteBody,
    needsEntityId: true,
    summary: 'A new participant link for a native share (entityId: the share); read-only until granted',
  },
  switch: {
    data: ShareSwitchBody,
    needsEntityId: true,
    summary: 'Move a share to another backend: the old one ends (switched), a new one starts',
  },
};

export const ShareStatus = z.enum(['awaiting_approval', 'starting', 'active', 'expiring', 'ended']);

export const ParticipantView = z.object({
  participant_id: z.string(),
  name: z.string(),
  access: AccessMode,
  write_until: z.string().nullable(),
  connected: z.boolean(),
  kicked: z.boolean(),
  joined_at: z.string().nullable(),
});
export type ParticipantView = z.infer<typeof ParticipantView>;

export const ShareView = z.object({
  share_id: z.string(),
  terminal_id: z.string(),
  lane_id: z.string(),
  backend: ShareBackend,
  access: AccessMode,
  status: ShareStatus,
  owner: z.string(),
  requested_at: z.string(),
  expires_at: z.string().nullable(),
  warn_at: z.string().nullable(),
  ms_left: z.number().int().nullable(),
  approval_id: z.string().nullable(),
  policy: z.object({
    effect: z.enum(['allow', 'approval', 'deny']),
    rule_id: z.string().nullable(),
    reason: z.string(),
  }),
  ended: z.object({ reason: ShareEndReason, detail: z.string().nullable(), at: z.string(), by: z.string() }).nullable(),
  replaces: z.string().nullable(),
  switched_to: z.string().nullable(),
  participants: z.array(ParticipantView),
  /** A handoff going on for the share's terminal (its badge says so), else null. */
  handoff: HandoffBadge.nullable(),
});
export type ShareView = z.infer<typeof ShareView>;

/** A participant's own link: shown once, to the caller who asked; only its hash is kept. */
export const ParticipantLink = z.object({
  participant_id: z.string(),
  name: z.string(),
  url: z.string(),
  token: z.string(),
});
export type ParticipantLink = z.infer<typeof ParticipantLink>;

export const ShareCreated = z.object({ share: ShareView, link: ParticipantLink.nullable() });
export type ShareCreated = z.infer<typeof ShareCreated>;

/** Backend links of a tmate/upterm share, decrypted for its owner. */
export const ShareLinksView = z.object({
  share_id: z.string(),
  backend: ShareBackend,
  links: z.record(z.string(), z.string()),
});

export const ApprovalView = z.object({
  approval_id: z.string(),
  /** What waits for the decision: a share or a handoff (the other is null). */
  share_id: z.string().nullable(),
  handoff_id: z.string().nullable(),
  status: z.enum(['pending', 'approved', 'denied', 'expired']),
  requested_by: z.string(),
  rule_id: z.string(),
  reason: z.string(),
  expires_at: z.string(),
  decided_by: z.string().nullable(),
  decision_note: z.string().nullable(),
});
export type ApprovalView = z.infer<typeof ApprovalView>;

/** A terminal's size in cells, as a viewer or the relay states it (docs/share-protocol.md: cols 10..1000, rows 4..500). */
export const TerminalCols = z.number().int().min(10).max(1000);
export const TerminalRows = z.number().int().min(4).max(500);

/** What a viewer sends on the share WebSocket (text frames); the token travels here, never in a URL. */
export const ViewerMessage = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('hello'),
      token: z.string().min(16).max(256),
      via: z.enum(['browser', 'cli']).default('browser'),
      /** The viewer's size: it sizes the terminal while this participant may type. */
      cols: TerminalCols.optional(),
      rows: TerminalRows.optional(),
      /** A reconnect: where the viewer's output stopped (a welcome's stream, and its byte offset in it). */
      resume: z
        .object({ stream: z.string().min(1).max(64), offset: z.number().int().min(0) })
        .strict()
        .optional(),
    })
    .strict(),
  z.object({ type: z.literal('input'), data: z.string().min(1).max(65_536) }).strict(),
  /** The viewer's window changed size (sent debounced, ~100 ms). */
  z.object({ type: z.literal('resize'), cols: TerminalCols, rows: TerminalRows }).strict(),
]);
export type ViewerMessage = z.infer<typeof ViewerMessage>;

/** The terminal's size and whose it is: a participant's name, "owner" (the terminal's own tmux client), null when never set. */
export interface RelaySize {
  cols: number;
  rows: number;
  by: string | null;
}

/** What the relay sends (text frames); terminal output comes as binary frames. */
export type RelayMessage =
  | {
      type: 'welcome';
      share_id: string;
      terminal_id: string;
      participant_id: string;
      name: string;
      access: 'read' | 'write';
      write_until: string | null;
      expires_at: string | null;
      /** The output stream the relay serves: a new id when its scrollback starts over (a tether restart). */
      stream: string;
      /** The absolute byte offset in `stream` at which the binary frames that follow begin. */
      offset: number;
      /** True: the frames continue exactly from the hello's resume offset (keep the screen); false: whole scrollback (reset first). */
      resumed: boolean;
      size: RelaySize;
    }
  | { type: 'waiting'; status: string }
  | { type: 'access'; access: 'read' | 'write'; write_until: string | null }
  | { type: 'warning'; expires_at: string; ms_left: number }
  | { type: 'extended'; expires_at: string }
  | { type: 'refused'; message: string }
  | ({ type: 'size' } & RelaySize)
  | { type: 'ended'; code: number; reason: string };

// The relay's close codes and what a viewer does after each: zod-free, for `tether attach`'s one-file tether.mjs.
export { RECONNECT_GIVE_UP_MS, RelayClose, reconnectDelayMs, relayCloseIsFinal } from '../relay-close.ts';
