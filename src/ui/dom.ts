type Child = Node | string | number | null | undefined | false
type Attributes = Record<string, string | number | boolean | EventListener | undefined>

/** Builds an element: `h('button', { class: 'x', onclick }, 'Save')`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value)
    else if (value === true) element.setAttribute(name, '')
    else element.setAttribute(name, String(value))
  }
  element.append(
    ...children.filter((child): child is Node | string | number => child !== null && child !== undefined && child !== false).map((child) => (typeof child === 'number' ? String(child) : child)),
  )
  return element
}

const svgNamespace = 'http://www.w3.org/2000/svg'

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS(svgNamespace, tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value))
  element.append(...children)
  return element
}

export function shortId(nodeId: string): string {
  return nodeId.slice(0, 8)
}

/** A stable, readable color for a node id. */
export function colorOf(nodeId: string): string {
  const hue = parseInt(nodeId.slice(0, 4), 16) % 360
  return `hsl(${hue} 65% 55%)`
}

/**
 * A node's colour for text, readable on either theme: styles.css picks `--node-on-dark` or
 * `--node-on-light` for `.author` (a lighter and a darker shade of the same hue).
 */
export function nodeTextStyle(nodeId: string): string {
  const hue = parseInt(nodeId.slice(0, 4), 16) % 360
  return `--node-on-dark:hsl(${hue} 70% 72%);--node-on-light:hsl(${hue} 70% 25%)`
}

export function timeAgo(ms: number, nowMs = Date.now()): string {
  const seconds = Math.max(0, Math.round((nowMs - ms) / 1000))
  if (seconds < 60) return `${seconds}s ago`
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`
  return new Date(ms).toLocaleString()
}

/**
 * Coalesces calls into one run on the next animation frame: a burst of doc updates costs one
 * render, and listeners return at once instead of rebuilding the DOM on every event.
 */
export function onNextFrame(run: () => void): () => void {
  let scheduled = false
  return () => {
    if (scheduled) return
    scheduled = true
    requestAnimationFrame(() => {
      scheduled = false
      run()
    })
  }
}

/** What a FramePacer needs of the page: its clock, its next animation frame and its timers. */
export interface PacerClock {
  now(): number
  frame(run: () => void): void
  after(ms: number, run: () => void): void
}

function reportDrawError(error: unknown): void {
  // One view's throw is reported as an uncaught one would be; the others still draw.
  if (typeof reportError === 'function') reportError(error)
  else console.error(error)
}

/**
 * The draws of the views that follow a stream of room updates (the memory list, the swarm
 * view's counts), paced by what they cost. They share one frame; after a draw, the next waits
 * until the last one's frame (the views' code, then style, layout and paint) took at most `share`
 * of the time since it began, and never longer than `maxGapMs`. So on a tab with time to spare
 * every update draws on the next frame, and on a busy one (six tabs of a room on two cores) a
 * stream draws a few times a second with its last state, instead of one frame per update in
 * every tab: a frame that changes the page also costs a draw by the compositor all of a browser's
 * tabs share, and those frames, not the sync, were where the time of a six-tab room went.
 */
export class FramePacer {
  readonly #runs = new Set<() => void>()
  #scheduled = false
  #drawnAt = -Infinity
  #costMs = 0

  constructor(
    private readonly clock: PacerClock,
    readonly share = 0.25,
    readonly maxGapMs = 250,
  ) {}

  /** How long after a draw began the next may begin: from the last frame's cost. */
  get gapMs(): number {
    return Math.min(this.maxGapMs, this.#costMs / this.share)
  }

  /** Draws `run` with the others waiting, on the first frame the pace allows; a run asked again meanwhile draws once. */
  schedule(run: () => void): void {
    this.#runs.add(run)
    if (this.#scheduled) return
    this.#scheduled = true
    const waitMs = this.#drawnAt + this.gapMs - this.clock.now()
    if (waitMs <= 0) this.clock.frame(() => this.#draw())
    else this.clock.after(waitMs, () => this.clock.frame(() => this.#draw()))
  }

  #draw(): void {
    this.#scheduled = false
    const started = this.clock.now()
    this.#drawnAt = started
    const runs = [...this.#runs]
    this.#runs.clear()
    for (const run of runs)
      try {
        run()
      } catch (error) {
        reportDrawError(error)
      }
    // The frame's style, layout and paint follow this callback in the same task: a task queued
    // now runs once they are done (later still on a tab busy with other work: it draws less).
    this.clock.after(0, () => {
      this.#costMs = this.clock.now() - started
    })
  }
}

const pagePacer = new FramePacer({
  now: () => performance.now(),
  frame: (run) => requestAnimationFrame(run),
  after: (ms, run) => setTimeout(run, ms),
})

/** onNextFrame for a view that follows a stream of room updates: drawn on the page's one FramePacer. */
export function onPacedFrame(run: () => void): () => void {
  return () => pagePacer.schedule(run)
}

/** Makes `parent`'s children exactly `wanted`, moving only what is out of place. */
export function reconcile(parent: HTMLElement, wanted: readonly Element[]): void {
  const wantedSet = new Set<Node>(wanted)
  for (const child of [...parent.children]) if (!wantedSet.has(child)) child.remove()
  wanted.forEach((element, index) => {
    if (parent.children[index] !== element) parent.insertBefore(element, parent.children[index] ?? null)
  })
}

/**
 * Elements kept by key and rebuilt only when what they show changed (`shown`, compared as a
 * string): a list that re-renders on every update touches the rows that changed, not the rest.
 */
export class KeyedRows<T, E extends Element = HTMLElement> {
  readonly #rows = new Map<string, { shown: string; element: E }>()

  constructor(
    private readonly build: (item: T) => E,
    private readonly shown: (item: T) => string,
  ) {}

  /** The elements for `items` (keyed by `keyOf`), reused where unchanged; rows of keys no longer there are forgotten. */
  elements(items: readonly T[], keyOf: (item: T) => string): E[] {
    const keep = new Set<string>()
    const elements = items.map((item) => {
      const key = keyOf(item)
      keep.add(key)
      const shown = this.shown(item)
      const known = this.#rows.get(key)
      if (known && known.shown === shown) return known.element
      const element = this.build(item)
      this.#rows.set(key, { shown, element })
      return element
    })
    for (const key of this.#rows.keys()) if (!keep.has(key)) this.#rows.delete(key)
    return elements
  }
}

/** A part of a view drawn only when its key (what it shows) differs from the last draw's. */
export function changedOnly(): (key: string, draw: () => void) => void {
  let last: string | null = null
  return (key, draw) => {
    if (key === last) return
    last = key
    draw()
  }
}
