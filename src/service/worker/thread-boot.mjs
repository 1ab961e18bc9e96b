// Entry of a model worker thread. The CLI runs TypeScript through tsx's loader, which worker
// threads do not inherit, so register it here before importing the worker itself.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
