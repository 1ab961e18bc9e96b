import type { Command } from 'commander';
import * as demo from './demo.js';
import * as init from './init.js';
import * as generate from './generate.js';
import * as checkData from './check-data.js';
import * as fleet from './fleet.js';
import * as drift from './drift.js';
import * as driftPr from './drift-pr.js';
import * as reconcile from './reconcile.js';
import * as manifest from './manifest.js';
import * as train from './train.js';
import * as validate from './validate.js';
import * as deploy from './deploy.js';
import * as rollback from './rollback.js';
import * as candidate from './candidate.js';
import * as models from './models.js';
import * as history from './history.js';
import * as liveCheck from './live-check.js';
import * as serve from './serve.js';
import * as blueGreen from './blue-green.js';

/**
 * Every `fleetcast` subcommand, in the order `--help` lists them.
 * Each module exports `register(program)`; keep this file to one line per command.
 */
export function registerCommands(program: Command): void {
  demo.register(program);
  init.register(program);
  generate.register(program);
  checkData.register(program);
  fleet.register(program);
  drift.register(program);
  driftPr.register(program);
  reconcile.register(program);
  manifest.register(program);
  train.register(program);
  validate.register(program);
  deploy.register(program);
  rollback.register(program);
  candidate.register(program);
  models.register(program);
  history.register(program);
  liveCheck.register(program);
  serve.register(program);
  blueGreen.register(program);
}
