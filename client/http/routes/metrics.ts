// GET /metrics: this process's Prometheus metrics (HTTP requests by route, process figures; in `groundwork dev`, where
// the worker shares the process, the worker's too). It needs an admin credential for all tenants: the HTTP API is the
// service's public boundary, and request rates and error counts are not for every caller. Prometheus scrapes it with
// such a key (deploy/prometheus/prometheus.yml); the worker's own /metrics port is the unauthenticated scrape target
// on the private network.
import { Readable } from 'node:stream';
import { renderMetrics } from '../../../common/metrics';
import { defineRoute } from '../route';
import type { Route } from '../route';

/** The content type prom-client writes (the Prometheus text exposition format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export const metricsRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics of this process',
    description:
      'The Prometheus text format: groundwork_http_requests_total and groundwork_http_request_seconds by route ' +
      'template, process metrics (groundwork_process_*), and the worker metrics when a worker runs in this process.',
    tag: 'meta',
    access: 'admin',
    responses: {
      200: { description: 'The metrics, in the Prometheus text format', contentType: PROMETHEUS_CONTENT_TYPE },
    },
    handler: async () => {
      const { contentType, text } = await renderMetrics();
      return {
        status: 200,
        stream: Readable.from([Buffer.from(text)]),
        headers: { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)) },
      };
    },
  }),
];
