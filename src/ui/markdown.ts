import { Marked, type Tokens } from 'marked'
import DOMPurify from 'dompurify'
import hljs from 'highlight.js/lib/core'
import bash from 'highlight.js/lib/languages/bash'
import css from 'highlight.js/lib/languages/css'
import javascript from 'highlight.js/lib/languages/javascript'
import json from 'highlight.js/lib/languages/json'
import python from 'highlight.js/lib/languages/python'
import rust from 'highlight.js/lib/languages/rust'
import sql from 'highlight.js/lib/languages/sql'
import typescript from 'highlight.js/lib/languages/typescript'
import xml from 'highlight.js/lib/languages/xml'
import { h } from './dom'

// Only the core and a handful of common languages: the full set would add about 1 MB to the bundle.
const languages = { bash, css, javascript, json, python, rust, sql, typescript, xml }
for (const [name, language] of Object.entries(languages)) hljs.registerLanguage(name, language)
const autoLanguages = Object.keys(languages)

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** A fenced block's code, highlighted as its language (or the likeliest of ours when it names none we know). */
function highlighted({ text, lang }: Tokens.Code): string {
  const name = (lang ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? ''
  // An alias ("ts", "sh") is shown as the language's own name.
  const found = name ? hljs.getLanguage(name) : undefined
  const known = found ? (autoLanguages.find((key) => hljs.getLanguage(key) === found) ?? name) : ''
  const result = known ? hljs.highlight(text, { language: known, ignoreIllegals: true }) : hljs.highlightAuto(text, autoLanguages)
  const language = result.language ?? ''
  return `<pre><code class="hljs${language ? ` language-${escapeHtml(language)}` : ''}">${result.value}</code></pre>\n`
}

const marked = new Marked({ gfm: true, breaks: false, async: false, renderer: { code: highlighted } })

// Links from a model or a peer open apart from the app and cannot reach back to it.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName !== 'A' || !node.hasAttribute('href')) return
  node.setAttribute('target', '_blank')
  node.setAttribute('rel', 'noopener noreferrer')
})

/**
 * Markdown as a sanitised fragment: whatever HTML the text carries (an `<img onerror>`, a
 * `<script>`, a `javascript:` link) is removed by DOMPurify before anything reaches the page,
 * and images are shown as links.
 */
export function renderMarkdown(source: string): DocumentFragment {
  const html = marked.parse(source, { async: false })
  const fragment = DOMPurify.sanitize(html, { RETURN_DOM_FRAGMENT: true, FORBID_TAGS: ['style', 'form', 'button', 'textarea', 'select'] })
  imagesAsLinks(fragment)
  return fragment
}

/**
 * Images are never loaded: an answer from a peer could hold an image whose URL tells its server
 * who read it. Each becomes a link the user may open, named by its alt text.
 */
function imagesAsLinks(root: DocumentFragment): void {
  for (const image of root.querySelectorAll('img')) {
    const src = image.getAttribute('src') ?? ''
    const label = `image: ${image.getAttribute('alt') || src || 'no address'}`
    image.replaceWith(/^https?:/i.test(src) ? h('a', { href: src, target: '_blank', rel: 'noopener noreferrer', class: 'md-image' }, label) : h('span', { class: 'md-image' }, label))
  }
}

/** A copy button for each code block of `root`; the chat's click handler does the copying. */
function addCodeCopyButtons(root: ParentNode): void {
  for (const pre of root.querySelectorAll('pre')) {
    pre.classList.add('code-block')
    pre.prepend(h('button', { type: 'button', class: 'copy-code', 'data-action': 'copy-code', 'data-testid': 'copy-code', title: 'Copy this code', 'aria-label': 'Copy this code' }, 'Copy'))
  }
}

/**
 * Where a streamed text may be cut without changing how what is before renders: after the last
 * blank line that is outside a code fence. Returns the length of that stable prefix.
 */
export function stablePrefixLength(source: string, from = 0): number {
  let inFence = false
  let stable = from
  let at = from
  while (at < source.length) {
    const lineEnd = source.indexOf('\n', at)
    if (lineEnd === -1) break
    const line = source.slice(at, lineEnd)
    if (/^\s{0,3}(```|~~~)/.test(line)) inFence = !inFence
    else if (!inFence && line.trim() === '' && lineEnd > from) stable = lineEnd + 1
    at = lineEnd + 1
  }
  return stable
}

/**
 * Renders a Markdown text that grows (a streamed answer) at a cost linear in its length: the
 * blocks before the last blank line outside a fence are rendered once and kept; only the tail
 * is rendered again on each update. Call `finish` at the end for the exact rendering of the whole.
 */
export class MarkdownView {
  readonly element: HTMLElement
  readonly #done: HTMLElement
  readonly #tail: HTMLElement
  #stable = 0
  #source = ''
  #finished = false

  constructor(attributes: Record<string, string>) {
    this.#done = h('div', { class: 'md-done' })
    this.#tail = h('div', { class: 'md-tail' })
    this.element = h('div', attributes, this.#done, this.#tail)
  }

  /** Whether it shows `source` rendered whole (finish was the last call, with this text). */
  shows(source: string): boolean {
    return this.#finished && this.#source === source
  }

  update(source: string): void {
    if (source === this.#source && !this.#finished) return
    if (!source.startsWith(this.#source) || this.#finished) return this.#restart(source)
    this.#source = source
    const stable = stablePrefixLength(source, this.#stable)
    if (stable > this.#stable) {
      const block = renderMarkdown(source.slice(this.#stable, stable))
      addCodeCopyButtons(block)
      this.#done.append(block)
      this.#stable = stable
    }
    const tail = renderMarkdown(source.slice(this.#stable))
    addCodeCopyButtons(tail)
    this.#tail.replaceChildren(tail)
  }

  /** The whole text rendered in one piece (lists and references that span blocks come out right). */
  finish(source: string): void {
    const startedMs = performance.now()
    this.#finished = true
    this.#source = source
    this.#stable = source.length
    const whole = renderMarkdown(source)
    addCodeCopyButtons(whole)
    this.#done.replaceChildren(whole)
    this.#tail.replaceChildren()
    // Seen in the browser's performance timeline (and read by `npm run bench`).
    performance.measure('markdown-render', { start: startedMs, detail: { chars: source.length } })
  }

  /** A text that is not the old one grown (a regenerated answer): streamed again from nothing. */
  #restart(source: string): void {
    this.#finished = false
    this.#source = ''
    this.#stable = 0
    this.#done.replaceChildren()
    this.#tail.replaceChildren()
    this.update(source)
  }
}
