export { startServer, type ServerOptions } from './server.ts';
export { main } from './main.ts';
