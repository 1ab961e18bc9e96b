import { run } from '../../src/actions/live-check.js';

await run();
