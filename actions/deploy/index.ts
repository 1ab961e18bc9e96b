import { run } from '../../src/actions/deploy.js';

await run();
