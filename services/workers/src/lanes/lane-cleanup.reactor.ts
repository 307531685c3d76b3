import { subjects } from '@tether/contracts';
import { defineReactor, isActiveSession } from '@tether/machines';

/** An actor of the lane as the cascade sees it: its id and state. */
export interface LaneMember {
  id: string;
  state: string;
}

/** What the lane cleanup cascade needs: the lane's terminals and sessions, loaded by the runner. */
export interface LaneMembers {
  terminals: LaneMember[];
  sessions: LaneMember[];
}

/** On lane.cleanup, the lane's open terminals close and its live sessions terminate; the worktree goes after (in the worker). */
export const laneCleanup = defineReactor<LaneMembers>({
  name: 'lanes',
  filter: subjects.entityEvents('lane'),
  react(event, { terminals, sessions }) {
    if (event.type !== 'lane.cleanup') return [];
    const data = { reason: 'lane cleanup' };
    return [
      ...terminals
        .filter((t) => t.state !== 'closed')
        .map((t) => ({ entity: 'terminal', verb: 'close', entityId: t.id, data })),
      ...sessions
        .filter((s) => isActiveSession(s.state))
        .map((s) => ({ entity: 'session', verb: 'terminate', entityId: s.id, data })),
    ];
  },
});
