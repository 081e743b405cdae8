// Path and query schemas several resources share.
import { z } from 'zod';
import { tenantIdSchema } from '../../groundwork-client';

export const tenantParams = z.object({ tenantId: tenantIdSchema });

/** Workflow ids are chosen by Groundwork but arrive from the caller: bounded, then checked against the tenant. */
export const workflowIdSchema = z.string().min(1).max(1000);

export const waitQuery = z.object({
  wait: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: 'true: answer when the workflow has finished, with its result' }),
});
