import * as core from '@actions/core';
import type { z } from 'zod';
import { getErrorMessage } from '../../core/errors.js';
import type { Notification } from '../../gitops/notify.js';
import { runContext, type RunContext } from './context.js';
import { parseSettings, readInputs, workspaceDir } from './inputs.js';
import { notify } from './notify.js';

/** What every action declares about its inputs; `runAction` does the rest. */
export interface ActionDefinition<S> {
  /** Every input run() reads (action.yml declares exactly these). */
  inputs: readonly string[];
  /** Inputs masked before anything can log them; their values are logged as `***`. */
  secrets: readonly string[];
  /** The settings schema: inputs → typed settings. Path inputs resolve inside `workspace`. */
  settings: (workspace: string) => z.ZodType<S>;
  /** Title of the Slack notice sent when the action fails. */
  failureTitle: string;
}

/** Every action takes an optional Slack webhook. */
export interface NotifySettings {
  slack_webhook?: string | undefined;
}

/** Declares an action (a typed identity: the settings type is inferred from the schema). */
export function defineAction<S extends NotifySettings>(action: ActionDefinition<S>): ActionDefinition<S> {
  return action;
}

/** What an action's body gets besides its settings. */
export interface ActionStep {
  /** The runner's workspace (GITHUB_WORKSPACE): where checkout put the repository. */
  workspace: string;
  context: RunContext;
  /** A Slack notice when a webhook is set, linked to the workflow run; a failed post only warns. */
  notify(notification: Notification): Promise<void>;
}

/**
 * The whole life of an action step: reads every input once, validates it into typed settings
 * (each resolved value logged at debug level, secrets masked), builds the run's context, runs
 * `body`, and on any error sends one Slack failure notice and calls `core.setFailed` once.
 *
 * A step sends Slack at most one message about its outcome: when the body has already notified
 * (verify's automatic rollback) and then fails, the failure is not announced a second time.
 */
export async function runAction<S extends NotifySettings>(
  action: ActionDefinition<S>,
  body: (settings: S, step: ActionStep) => Promise<void>,
): Promise<void> {
  let webhook: string | undefined;
  let runUrl: string | undefined;
  let notified = false;
  try {
    const workspace = workspaceDir();
    const raw = readInputs(action.inputs, action.secrets);
    const settings = parseSettings(action.settings(workspace), raw, action.secrets);
    webhook = settings.slack_webhook;
    const context = await runContext();
    runUrl = context.runUrl;
    core.debug(
      `run: repository ${context.repository ?? '(none)'}, event ${context.github.eventName ?? '(none)'}, ` +
        `actor ${context.actor}, ${context.runUrl ?? 'no run link'}`,
    );
    await body(settings, {
      workspace,
      context,
      notify: async (notification) => {
        notified = true;
        await notify(webhook, {
          ...notification,
          ...(notification.url === undefined && runUrl !== undefined ? { url: runUrl } : {}),
        });
      },
    });
  } catch (error) {
    const message = getErrorMessage(error);
    core.setFailed(message);
    if (!notified) {
      // Slack gets the first line; the full message is in the log.
      await notify(webhook, {
        kind: 'failure',
        title: action.failureTitle,
        lines: [message.split('\n')[0]!],
        ...(runUrl === undefined ? {} : { url: runUrl }),
      });
    }
  }
}
