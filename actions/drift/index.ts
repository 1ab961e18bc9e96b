import { run } from '../../src/actions/drift.js';

await run();
