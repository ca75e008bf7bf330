import { formatBytes } from '../inference/download-meter'
import type { LocalEngine } from '../inference/local-engine'
import type { CatalogEntry } from '../inference/model-catalog'
import { agreementKey, isForeignLink, type Fit, type ModelOffer } from '../inference/model-fit'
import { maxAgreedModels, type ModelSettings } from '../memory/settings'
import { h, onNextFrame } from './dom'

/** Where the model choice and the agreement to download live (the `model` settings group). */
export interface ConsentStore {
  load(): Promise<Partial<ModelSettings>>
  save(settings: ModelSettings): Promise<void>
}

/**
 * The end of the start: a model this profile agreed to loads at once (from the cache after the
 * first visit); any other waits for "Download" in the engine view. A link's `model=` chooses
 * what is offered, never the agreement. A paused download stays paused across a reload.
 */
export async function startLocalModel(engine: LocalEngine, consent: ConsentStore): Promise<void> {
  const offer = await engine.offer()
  if (!offer) return engine.start()
  const settings = await consent.load()
  const agreed = (settings.agreed ?? []).includes(agreementKey(offer.selected))
  if (!agreed || settings.paused === true) return engine.ask(offer.selected, agreed)
  return engine.begin(offer.selected)
}

/** Remembers that the user agreed to `entry` (and chose it), keeping the newest agreements. */
async function agree(consent: ConsentStore, entry: CatalogEntry): Promise<void> {
  const settings = await consent.load()
  const key = agreementKey(entry)
  const agreed = [...(settings.agreed ?? []).filter((known) => known !== key), key].slice(-maxAgreedModels)
  await consent.save({ ...settings, chosenId: entry.id, agreed, paused: false })
}

async function choose(consent: ConsentStore, entry: CatalogEntry): Promise<void> {
  await consent.save({ ...(await consent.load()), chosenId: entry.id })
}

async function setPaused(consent: ConsentStore, paused: boolean): Promise<void> {
  await consent.save({ ...(await consent.load()), paused })
}

/** Forgets every agreement ("Delete model" deleted every model's files: a later visit asks again). */
export async function forgetAll(consent: ConsentStore): Promise<void> {
  await consent.save({ ...(await consent.load()), agreed: [], paused: false })
}

/** Forgets the agreement to `entry` (its files were deleted: a later visit asks again). */
export async function forget(consent: ConsentStore, entry: CatalogEntry): Promise<void> {
  const settings = await consent.load()
  await consent.save({ ...settings, agreed: (settings.agreed ?? []).filter((known) => known !== agreementKey(entry)), paused: false })
}

const kindName = (entry: CatalogEntry): string => (entry.kind === 'webgpu' ? 'WebGPU' : 'WASM')

function sizeOf(entry: CatalogEntry): string {
  return entry.downloadBytes > 0 ? `${formatBytes(entry.downloadBytes)} download` : 'size not known before the download starts'
}

function needOf(entry: CatalogEntry): string {
  if (entry.memoryMb <= 0) return 'memory need not known'
  return `needs ${formatBytes(entry.memoryMb * 1024 * 1024)} of ${entry.kind === 'webgpu' ? 'GPU memory' : 'memory'}`
}

function fitText(fit: Fit): string {
  return fit.runs ? 'this device can run it' : `this device cannot run it: ${fit.reason}`
}

function optionText(fit: Fit, recommendedId: string | null): string {
  const { entry } = fit
  const mark = entry.id === recommendedId ? ' (recommended)' : ''
  return `${entry.label} ${entry.quant} · ${kindName(entry)} · ${entry.downloadBytes > 0 ? formatBytes(entry.downloadBytes) : 'size unknown'}${fit.runs ? '' : ' · cannot run here'}${mark}`
}

/** The question for a link's GGUF on another site: whose site, which file, and that nothing comes from it before Accept. */
function foreignLinkText(url: string): string {
  const { origin } = new URL(url)
  return `This link asks to download a model from another site, ${origin}: ${url} (size not known until that site is asked). Nothing is fetched from it unless you accept.`
}

/**
 * The question before anything big: the selected model, its download size, memory need and
 * whether this device can run it, a picker for the others, and Download; while it downloads,
 * Pause and Cancel; when paused, Resume and Cancel. A link's GGUF on another origin asks
 * Accept or Decline instead, naming that origin (Decline picks the catalog's recommendation).
 */
export function mountModelOffer(root: HTMLElement, engine: LocalEngine, consent: ConsentStore, report: (error: unknown) => void): () => void {
  const picker = h('select', { 'data-testid': 'model-picker', 'aria-label': 'Model to download' })
  const details = h('span', { class: 'model-details', 'data-testid': 'model-details' })
  const download = h('button', { type: 'button', 'data-testid': 'model-download' }, 'Download')
  const pause = h('button', { type: 'button', 'data-testid': 'download-pause' }, 'Pause')
  const resume = h('button', { type: 'button', 'data-testid': 'download-resume' }, 'Resume')
  const cancel = h('button', { type: 'button', class: 'link danger', 'data-testid': 'download-cancel' }, 'Cancel download')
  const foreignText = h('span', { 'data-testid': 'link-prompt-text' })
  const accept = h('button', { type: 'button', 'data-testid': 'link-accept' }, 'Accept')
  const decline = h('button', { type: 'button', class: 'link', 'data-testid': 'link-decline' }, 'Decline')
  const foreign = h('div', { class: 'link-prompt', role: 'group', 'aria-label': 'A model from another site', 'data-testid': 'link-prompt', hidden: true }, foreignText, accept, decline)
  const panel = h('div', { class: 'model-offer', 'data-testid': 'model-offer', hidden: true }, h('label', {}, 'Model ', picker), details, download, resume, pause, cancel, foreign)
  root.append(panel)

  let offer: ModelOffer | null = null
  const picked = (): Fit | undefined => offer?.fits.find((fit) => fit.entry.id === picker.value)

  const showDetails = (): void => {
    const fit = picked()
    if (!fit) return
    details.textContent = `${fit.entry.label} ${fit.entry.quant} (${kindName(fit.entry)}): ${sizeOf(fit.entry)}, ${needOf(fit.entry)}; ${fitText(fit)}.`
    details.className = `model-details${fit.runs ? '' : ' warn'}`
  }

  const render = (): void => {
    const { state } = engine.status()
    const asking = state === 'offer' || state === 'failed'
    const stoppable = state === 'downloading' || (state === 'loading' && engine.status().download !== undefined)
    const entry = picked()?.entry
    const foreignLink = asking && entry !== undefined && isForeignLink(entry, location.origin)
    panel.hidden = offer === null || !(asking || state === 'paused' || stoppable)
    picker.disabled = !asking
    download.hidden = !asking || foreignLink
    foreign.hidden = !foreignLink
    if (foreignLink) foreignText.textContent = foreignLinkText(entry.url)
    resume.hidden = state !== 'paused'
    pause.hidden = !stoppable
    cancel.hidden = !(stoppable || state === 'paused')
  }

  engine.offer().then((made) => {
    offer = made
    if (!made) return render()
    picker.replaceChildren(...made.fits.map((fit) => h('option', { value: fit.entry.id, selected: fit.entry.id === made.selected.id }, optionText(fit, made.recommendedId))))
    showDetails()
    render()
  }, report)

  const pick = (): void => {
    showDetails()
    const fit = picked()
    if (!fit) return
    engine.ask(fit.entry)
    choose(consent, fit.entry).catch(report)
  }
  picker.addEventListener('change', pick)
  const begin = (): void => {
    const fit = picked()
    if (!fit) return
    agree(consent, fit.entry)
      .then(() => engine.begin(fit.entry))
      .catch(report)
  }
  download.addEventListener('click', begin)
  accept.addEventListener('click', begin)
  decline.addEventListener('click', () => {
    const instead = offer?.fits.find((fit) => fit.entry.id === offer?.recommendedId) ?? offer?.fits.find((fit) => fit.runs && !isForeignLink(fit.entry, location.origin))
    if (!instead) return
    picker.value = instead.entry.id
    pick()
  })
  pause.addEventListener('click', () => {
    engine.pause()
    setPaused(consent, true).catch(report)
  })
  resume.addEventListener('click', () => {
    const fit = picked()
    if (!fit) return
    setPaused(consent, false)
      .then(() => engine.begin(fit.entry))
      .catch(report)
  })
  cancel.addEventListener('click', () => {
    const fit = picked()
    if (!fit) return
    engine
      .cancel()
      .then(() => forget(consent, fit.entry))
      .catch(report)
  })
  return engine.on('status', onNextFrame(render))
}
