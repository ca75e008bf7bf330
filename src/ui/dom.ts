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
