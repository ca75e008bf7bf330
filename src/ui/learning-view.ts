import { localBarFor } from '../micronets/router'
import { plural } from '../shared/text'
import type { Unsubscribe } from '../shared/events'
import type { LearnedNet, NetState } from '../swarm/learning/learned-net'
import type { Learning } from '../swarm/learning/learning'
import type { FeedbackRecord, RouterDecisionRecord } from '../swarm/learning/router'
import { h, onNextFrame, shortId, svg } from './dom'

export interface LearningViewOptions {
  /** This node's id, to mark its own contribution among the room's. */
  nodeId: string
  /** Keeps the user's cost–quality setting (called when the slider is let go). */
  saveCostQuality: (value: number) => void
}

type NetKey = 'router' | 'speed'

const maxRows = 20
const plot = { width: 280, height: 110, left: 30, right: 34, top: 14, bottom: 16 }

const routeTitles: Record<RouterDecisionRecord['route'], string> = {
  local: "this node's small model",
  swarm: "a peer's model",
  relay: "the relay's big model",
}

function percent(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value * 100)}%` : '–'
}

function clock(at: number): string {
  return new Date(at).toLocaleTimeString()
}

function describeCostQuality(value: number): string {
  return `${value.toFixed(2)}: a request stays on the small model when the router gives it P(good) ≥ ${percent(localBarFor(value))}; just below, the swarm; further down, the relay`
}

function decisionRow(decision: RouterDecisionRecord): HTMLElement {
  return h(
    'li',
    { class: 'route-decision', 'data-testid': 'route-decision', 'data-route': decision.route },
    h('span', { class: `route-tag route-${decision.route}`, title: routeTitles[decision.route] }, decision.route),
    h('span', { title: 'how sure the router is of this route' }, `confidence ${percent(decision.confidence)}`),
    h('span', { title: "the router's P(the small model's answer is good enough)" }, `P(good) ${percent(decision.good)}`),
    h('span', { title: `scored ${decision.runtime === 'worker' ? 'in a worker' : "on the page's thread"}` }, `${decision.latencyMs.toFixed(2)} ms`),
    h('time', {}, clock(decision.at)),
    // User text: a text node, never markup.
    h('div', { class: 'learning-excerpt', title: decision.excerpt }, decision.excerpt),
  )
}

function feedbackRow(lesson: FeedbackRecord): HTMLElement {
  return h(
    'li',
    { class: 'feedback-lesson', 'data-testid': 'feedback-lesson', 'data-good': String(lesson.good) },
    h('span', { class: 'tag' }, lesson.signal),
    h('span', { class: lesson.good ? 'lesson-good' : 'lesson-bad' }, lesson.good ? 'good' : 'not good'),
    h('span', { title: 'loss over recent samples after this lesson' }, `loss ${lesson.loss.toFixed(3)}`),
    h('time', {}, clock(lesson.at)),
    h('div', { class: 'learning-excerpt', title: lesson.excerpt }, lesson.excerpt),
  )
}

function newestFirst<T>(records: readonly T[]): T[] {
  return records.slice(-maxRows).reverse()
}

function listOr(items: HTMLElement[], empty: string): HTMLElement[] {
  return items.length ? items : [h('li', { class: 'empty' }, empty)]
}

function polyline(points: readonly { x: number; y: number }[], className: string): SVGElement[] {
  const last = points.at(-1)
  if (!last) return []
  // A single point draws no line: the dot on the latest point keeps it visible.
  return [svg('polyline', { class: className, points: points.map(({ x, y }) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ') }), svg('circle', { class: className, cx: last.x, cy: last.y, r: 2.5 })]
}

/** Loss (left scale) and samples learned (right scale) over time, from a net's history. */
export function drawLearningPlot(state: NetState): SVGSVGElement {
  const { history } = state
  const innerWidth = plot.width - plot.left - plot.right
  const innerHeight = plot.height - plot.top - plot.bottom
  const first = history[0]?.at ?? 0
  const span = (history.at(-1)?.at ?? first) - first
  const xOf = (at: number): number => plot.left + (span > 0 ? (at - first) / span : 0.5) * innerWidth
  const finiteLosses = history.map((point) => point.loss).filter(Number.isFinite)
  const maxLoss = Math.max(...finiteLosses, 0) || 1
  const maxSamples = Math.max(...history.map((point) => point.samples), 0) || 1
  const yOf = (value: number, max: number): number => plot.top + innerHeight * (1 - value / max)
  const lossPoints = history.filter((point) => Number.isFinite(point.loss)).map((point) => ({ x: xOf(point.at), y: yOf(point.loss, maxLoss) }))
  const samplePoints = history.map((point) => ({ x: xOf(point.at), y: yOf(point.samples, maxSamples) }))
  const right = plot.width - plot.right
  const bottom = plot.height - plot.bottom
  const label = `${state.name} net: loss ${state.loss.toFixed(3)} after ${plural(state.samples, 'sample', 'samples')} learned here, ${plural(history.length, 'point', 'points')} plotted`
  return svg(
    'svg',
    { viewBox: `0 0 ${plot.width} ${plot.height}`, class: 'learning-plot', role: 'img', 'aria-label': label },
    svg('title', {}, label),
    svg('rect', { class: 'learning-plot-frame', x: plot.left, y: plot.top, width: innerWidth, height: innerHeight }),
    ...polyline(samplePoints, 'learning-samples'),
    ...polyline(lossPoints, 'learning-loss'),
    svg('text', { class: 'learning-loss', x: plot.left, y: 10 }, '— loss'),
    svg('text', { class: 'learning-samples', x: right, y: 10, 'text-anchor': 'end' }, 'samples —'),
    svg('text', { class: 'learning-loss', x: plot.left - 3, y: plot.top + 8, 'text-anchor': 'end' }, maxLoss.toFixed(2)),
    svg('text', { class: 'learning-loss', x: plot.left - 3, y: bottom, 'text-anchor': 'end' }, '0'),
    svg('text', { class: 'learning-samples', x: right + 3, y: plot.top + 8 }, String(maxSamples)),
    svg('text', { class: 'learning-samples', x: right + 3, y: bottom }, '0'),
    svg('text', { x: plot.left, y: plot.height - 3 }, first ? clock(first) : ''),
    svg('text', { x: right, y: plot.height - 3, 'text-anchor': 'end' }, span > 0 ? clock(first + span) : ''),
  )
}

function shortFingerprint(fingerprint: string): string {
  return fingerprint.slice(fingerprint.lastIndexOf('#') + 1)
}

function renderNet(key: NetKey, state: NetState, nodeId: string): Node[] {
  const contributors = state.contributors.slice(0, maxRows)
  const more = state.contributors.length - contributors.length
  return [
    h(
      'div',
      { class: 'learning-plot-box', 'data-testid': `learning-plot-${key}`, 'data-points': state.history.length },
      state.history.length ? drawLearningPlot(state) : h('span', { class: 'empty' }, 'no lessons yet'),
    ),
    h(
      'div',
      { class: 'learning-stats' },
      h('span', { 'data-testid': `net-samples-${key}`, title: 'samples this node learned from' }, h('b', {}, state.samples), ' learned here'),
      h('span', { 'data-testid': `net-loss-${key}`, title: 'loss over recent samples with the weights in use now' }, `loss ${state.loss.toFixed(3)}`),
      h(
        'span',
        { title: `weights in use: ${state.fingerprint} (equal on every node once the room has converged)` },
        'weights ',
        h('code', { 'data-testid': `net-fingerprint-${key}` }, shortFingerprint(state.fingerprint)),
      ),
      h(
        'span',
        {
          class: state.rejected > 0 ? 'warn' : '',
          'data-testid': `net-rejected-${key}`,
          title: 'contributions refused: wrong shape, NaN or huge values, bad signature, another room, dated ahead, replayed',
        },
        `${state.rejected} rejected`,
      ),
    ),
    h(
      'div',
      { class: 'learning-contributors', 'data-testid': `net-contributors-${key}`, 'data-count': state.contributors.length },
      `${state.contributors.length} ${state.contributors.length === 1 ? 'contributor' : 'contributors'} in the room`,
      ...contributors.map((contributor) =>
        h(
          'span',
          {
            class: 'learning-contributor',
            'data-testid': 'learning-contributor',
            'data-weight': contributor.weight,
            title: `${contributor.author}: ${plural(contributor.samples, 'sample', 'samples')} (counted as ${contributor.weight}: a claim over twice the median counts as that), ${clock(contributor.at)}`,
          },
          h('code', {}, shortId(contributor.author)),
          contributor.author === nodeId ? ' (this node)' : '',
          ` ${contributor.samples}`,
          contributor.weight < contributor.samples ? h('span', { class: 'warn' }, ` → ${contributor.weight}`) : null,
        ),
      ),
      more > 0 ? h('span', { class: 'learning-contributor' }, `+${more} more`) : null,
    ),
  ]
}

/**
 * The router and what the micro-nets learn: the cost–quality setting, where the router runs,
 * its recent decisions and lessons, and each net's learning over time and contributors.
 * Renders at most once a frame per part; the returned function unsubscribes and removes it.
 */
export function mountLearningView(root: HTMLElement, learning: Learning, options: LearningViewOptions): () => void {
  const router = learning.router
  const slider = h('input', { type: 'range', min: 0, max: 1, step: 0.05, value: router.costQuality, 'data-testid': 'cost-quality', title: '0 spends least, 1 buys the best answer' })
  const meaning = h('div', { class: 'cost-quality-meaning', 'data-testid': 'cost-quality-meaning', 'aria-live': 'polite' })
  const runtime = h('div', { class: 'router-runtime', 'data-testid': 'router-runtime' })
  const decisions = h('ol', { class: 'learning-list', 'data-testid': 'route-decisions' })
  const lessons = h('ol', { class: 'learning-list', 'data-testid': 'feedback-lessons' })
  const nets: Record<NetKey, HTMLElement> = {
    router: h('div', { class: 'learning-net', 'data-testid': 'learning-net-router' }),
    speed: h('div', { class: 'learning-net', 'data-testid': 'learning-net-speed' }),
  }
  const section = h(
    'section',
    { class: 'learning', 'data-testid': 'learning-view' },
    h('h2', {}, 'Router & learning'),
    h('label', { class: 'cost-quality' }, 'cheaper ⟷ better ', slider),
    meaning,
    runtime,
    h('h3', {}, 'Routes'),
    decisions,
    h('h3', {}, 'Lessons'),
    lessons,
    h('h3', { title: 'decides where a chat runs' }, 'Router net'),
    nets.router,
    h('h3', { title: 'predicts how long a peer takes' }, 'Speed net'),
    nets.speed,
  )
  root.append(section)
  let stopped = false

  const showCostQuality = (value: number): void => {
    meaning.textContent = describeCostQuality(value)
  }
  slider.addEventListener('input', () => showCostQuality(slider.valueAsNumber))
  slider.addEventListener('change', () => {
    const value = slider.valueAsNumber
    if (!Number.isFinite(value)) return
    router.costQuality = value
    showCostQuality(value)
    options.saveCostQuality(value)
  })

  const renderRouter = (): void => {
    if (stopped) return
    // Set elsewhere (the API): follow it, unless the user is on the slider now.
    if (document.activeElement !== slider) {
      slider.value = String(router.costQuality)
      showCostQuality(router.costQuality)
    }
    runtime.textContent = router.runtime === 'worker' ? 'router runs in a worker (onnxruntime-web, WASM-SIMD)' : `router runs on the page's thread: ${router.fallbackReason || 'no micro-net worker'}`
    runtime.dataset.runtime = router.runtime
    decisions.replaceChildren(...listOr(newestFirst(router.decisions()).map(decisionRow), 'no requests routed yet'))
    lessons.replaceChildren(...listOr(newestFirst(router.feedbackLog()).map(feedbackRow), 'no feedback yet'))
  }

  // The change event carries the state: a burst of changes costs one render and no re-reads.
  const watchNet = (key: NetKey, net: LearnedNet): Unsubscribe => {
    let latest = net.state()
    const render = onNextFrame(() => {
      if (!stopped) nets[key].replaceChildren(...renderNet(key, latest, options.nodeId))
    })
    nets[key].replaceChildren(...renderNet(key, latest, options.nodeId))
    return net.on('change', (state) => {
      latest = state
      render()
    })
  }

  const scheduleRouter = onNextFrame(renderRouter)
  const unsubscribes = [router.on('decision', scheduleRouter), router.on('feedback', scheduleRouter), watchNet('router', learning.routerNet), watchNet('speed', learning.speedNet)]
  renderRouter()
  return () => {
    stopped = true
    for (const unsubscribe of unsubscribes) unsubscribe()
    section.remove()
  }
}
