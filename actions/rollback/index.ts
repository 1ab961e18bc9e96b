import { run } from '../../src/actions/rollback.js';

await run();
