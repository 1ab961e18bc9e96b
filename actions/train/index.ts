import { run } from '../../src/actions/train.js';

await run();
