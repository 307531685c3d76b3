export { startServer, type ServerOptions } from './server.ts';
export { main } from './main.ts';
export { COMMANDS, isGroup, type Entry, type Leaf } from './command-table.ts';
