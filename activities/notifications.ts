// Tells reviewers that a task opened or escalated: a POST of Slack-compatible JSON (`text` plus `blocks`) with a
// link to the task in the review console. Temporal retries a failed delivery with backoff; every failure is logged
// (status only: the URL is a secret) and the review task never waits for it.
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { ReviewSettings } from '../common/config';
import { assertTenantId } from '../common/ids';
import type { ReviewEvent } from '../workflows/definitions';

export interface NotificationOptions {
  /** Unset: nothing is sent. */
  webhookUrl?: string;
  /** The console's base address, ending in "/". */
  consoleUrl: string;
  timeoutMs?: number;
}

export function notificationOptions(settings: ReviewSettings): NotificationOptions {
  return { webhookUrl: settings.webhookUrl, consoleUrl: settings.consoleUrl ?? settings.fallbackConsoleUrl };
}

export interface ReviewNotice {
  tenantId: string;
  taskId: string;
  event: ReviewEvent;
  confidence: number;
  threshold: number;
  /** Why the answer needs a reviewer (the draft's reason); absent from tasks started before it was sent. */
  reason?: 'LOW_CONFIDENCE' | 'MODEL_UNAVAILABLE';
}

/** The console page of one task. */
export function taskLink(consoleUrl: string, tenantId: string, taskId: string): string {
  return `${consoleUrl}#/t/${encodeURIComponent(tenantId)}/task/${encodeURIComponent(taskId)}`;
}

/** The message: no question or answer text, only what a reviewer needs to decide to open it. */
export function slackMessage(notice: ReviewNotice, link: string): Record<string, unknown> {
  const what = notice.event === 'opened' ? 'needs a reviewer' : 'escalated: nobody decided it in time';
  const text =
    `Review task for ${notice.tenantId} ${what} (confidence ${notice.confidence.toFixed(2)} < ` +
    `threshold ${notice.threshold.toFixed(2)}). <${link}|Open the task>`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'actions',
        elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the task' }, url: link }],
      },
    ],
  };
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

export function createNotificationActivities(options: NotificationOptions) {
  return {
    async notifyReviewers(notice: ReviewNotice): Promise<{ delivered: boolean; status?: number }> {
      assertTenantId(notice.tenantId);
      if (!options.webhookUrl) return { delivered: false };
      const attempt = Context.current().info.attempt;
      const link = taskLink(options.consoleUrl, notice.tenantId, notice.taskId);
      let status: number;
      try {
        const res = await fetch(options.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(slackMessage(notice, link)),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
          redirect: 'error',
        });
        status = res.status;
        await res.body?.cancel().catch(() => undefined);
      } catch (err) {
        log.warn('review notification failed', {
          event: notice.event,
          attempt,
          error: err instanceof Error ? err.name : 'unknown',
        });
        throw ApplicationFailure.retryable('The webhook could not be reached.', 'WEBHOOK_UNREACHABLE');
      }
      if (status >= 200 && status < 300) {
        log.info('review notification delivered', { event: notice.event, attempt, status });
        return { delivered: true, status };
      }
      log.warn('review notification refused', { event: notice.event, attempt, status });
      if (status >= 500 || RETRYABLE_STATUS.has(status))
        throw ApplicationFailure.retryable(`The webhook answered ${status}.`, 'WEBHOOK_FAILED');
      throw ApplicationFailure.nonRetryable(`The webhook answered ${status}.`, 'WEBHOOK_REFUSED');
    },
  };
}
