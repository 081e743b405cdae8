// The route table. A new resource: a file next to this one exporting its Route[] (see documents.ts), added below.
import type { Route } from '../route';
import { auditRoutes } from './audit';
import { codecRoutes } from './codec';
import { consoleRoutes } from './console';
import { documentRoutes } from './documents';
import { evaluationRoutes } from './evaluations';
import { keyRoutes } from './keys';
import { metaRoutes } from './meta';
import { metricsRoutes } from './metrics';
import { questionRoutes } from './questions';
import { reviewRoutes } from './reviews';
import { usageRoutes } from './usage';

export function createRoutes(): Route[] {
  const routes: Route[] = [
    ...metaRoutes(() => routes),
    ...metricsRoutes,
    ...documentRoutes,
    ...questionRoutes,
    ...reviewRoutes,
    ...evaluationRoutes,
    ...keyRoutes,
    ...codecRoutes,
    ...auditRoutes,
    ...usageRoutes,
  ];
  return routes;
}

/** The review console's page and API: served beside the routes above, but not part of the versioned API's document. */
export function createConsoleRoutes(): Route[] {
  return consoleRoutes();
}
