import { join, resolve } from 'node:path';
import { TetherError } from '@tether/contracts';

export interface Workspace {
  id: string;
  /** The git repository lanes are worktrees of. */
  repo: string;
}

/**
 * Workspaces from TETHER_WORKSPACES ("id=/path/to/repo,other=/path"); without it, one workspace
 * "default" for the repository tether runs in.
 */
export class Workspaces {
  private readonly byId: Map<string, Workspace>;

  constructor(
    spec: string | undefined,
    cwd: string,
    readonly worktreeRoot: string,
  ) {
    const entries = spec
      ? spec
          .split(',')
          .filter(Boolean)
          .map((pair) => {
            const [id, path] = pair.split('=');
            if (!id || !path)
              throw new TetherError('INVALID_COMMAND', `TETHER_WORKSPACES entry "${pair}" is not id=/path/to/repo`);
            return { id, repo: resolve(path) };
          })
      : [{ id: 'default', repo: resolve(cwd) }];
    this.byId = new Map(entries.map((w) => [w.id, w]));
  }

  get(id: string): Workspace {
    const ws = this.byId.get(id);
    if (!ws)
      throw new TetherError(
        'NOT_FOUND',
        `workspace "${id}" is not configured; known: ${[...this.byId.keys()].join(', ')} (set TETHER_WORKSPACES=id=/path/to/repo)`,
      );
    return ws;
  }

  list(): Workspace[] {
    return [...this.byId.values()];
  }

  worktreePath(workspaceId: string, laneId: string): string {
    return join(this.worktreeRoot, workspaceId, laneId);
  }
}

export const laneBranch = (laneId: string) => `tether/${laneId}`;
