import routerWeights from './data/router-weights.json'
import { routerFeatures, type RoutedRequest } from './features'
import { createMlp, forward, shapeOf, type Mlp } from './mlp'
import { routerSpec } from './router-training'
import { deserializeMlp } from './serialize'

export type Route = 'local' | 'swarm' | 'relay'

export interface RouteDecision {
  route: Route
  /** How sure the router is of this route, in [0, 1]. */
  confidence: number
}

/** Scores features as P(the local model's answer is good enough): in this thread or in a worker. */
export interface RouterScorer {
  score(features: Float32Array): Promise<number>
}

/** The user's setting: 0 spends least (stay local when it might do), 1 buys the best answer. */
export const defaultCostQuality = 0.5
/** Below the local bar by less than this, a peer's model is worth a try (it may run a faster engine); further, the relay. */
const swarmBand = 0.2

/** The P(good) above which a request stays on the small model, for a cost–quality setting. */
export function localBarFor(costQuality: number = defaultCostQuality): number {
  const tradeoff = Math.min(1, Math.max(0, Number.isFinite(costQuality) ? costQuality : defaultCostQuality))
  return 0.25 + 0.6 * tradeoff
}

/**
 * Where a request should run, from the router's probability `good` that the local answer is
 * good enough: local above a bar that rises with `costQuality`, the swarm just below it, the
 * relay's big model further down. Confidence is the probability of the chosen side.
 */
export function routeFor(good: number, costQuality: number = defaultCostQuality): RouteDecision {
  const localBar = localBarFor(costQuality)
  if (good >= localBar) return { route: 'local', confidence: good }
  return { route: good >= localBar - swarmBand ? 'swarm' : 'relay', confidence: 1 - good }
}

/** The router as the app uses it; `scorer` runs its net (see pooledScorer for the worker pool). */
export class MicronetRouter {
  constructor(private readonly scorer: RouterScorer) {}

  async decide(request: RoutedRequest, costQuality: number = defaultCostQuality): Promise<RouteDecision> {
    const good = await this.scorer.score(routerFeatures(request))
    return routeFor(Number.isFinite(good) ? good : 0, costQuality)
  }
}

/** Runs the net with the plain TypeScript forward pass, in this thread. */
export function inlineScorer(net: Mlp): RouterScorer {
  return { score: (features) => Promise.resolve(forward(net, features)[0] ?? 0) }
}

export const routerShape = shapeOf(createMlp(routerSpec))

/** The router every new node starts from: trained at build time on the labelled set (data/). */
export function initialRouterNet(): Mlp {
  return deserializeMlp(routerWeights, routerShape)
}
