import { run } from '../../src/actions/verify.js';

await run();
