import { formatBytes, formatEta, type DownloadFigures } from '../inference/download-meter'
import { storageUsage, type LocalEngine, type LocalEngineStatus } from '../inference/local-engine'
import type { EngineSettings } from '../memory/settings'
import { h, onNextFrame } from './dom'
import { forgetAll, mountModelOffer, type ConsentStore } from './model-offer'

export interface SettingsStore {
  current: EngineSettings
  save(settings: EngineSettings): Promise<void>
}

function settingsForm(store: SettingsStore, report: (error: unknown) => void): HTMLElement {
  const engine = h(
    'select',
    { 'data-testid': 'settings-engine' },
    ...(['auto', 'webgpu', 'wasm', 'none'] as const).map((value) => h('option', { value, selected: (store.current.engine ?? 'auto') === value }, value === 'auto' ? 'automatic' : value)),
  )
  const model = h('input', {
    type: 'text',
    inputmode: 'url',
    placeholder: 'GGUF URL or /models/ path for the WASM engine (empty: the model picked above)',
    value: store.current.modelUrl ?? '',
    'data-testid': 'settings-model',
  })
  const relayToken = h('input', {
    type: 'password',
    placeholder: 'relay token (if the relay asks for one)',
    value: store.current.relayToken ?? '',
    'data-testid': 'settings-relay-token',
    autocomplete: 'off',
  })
  const form = h('form', { class: 'row settings' }, h('label', {}, 'engine ', engine), model, relayToken, h('button', { type: 'submit', 'data-testid': 'settings-save' }, 'Save and reload'))
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const choice = engine.value === 'webgpu' || engine.value === 'wasm' || engine.value === 'none' ? engine.value : 'auto'
    store.save({ engine: choice, modelUrl: model.value.trim(), relayToken: relayToken.value.trim() }).catch(report)
  })
  return h('details', { class: 'engine-settings' }, h('summary', {}, 'Engine settings'), form, h('small', {}, "The link's ?engine= and ?model= win over these."))
}

const stateLabels: Record<LocalEngineStatus['state'], string> = {
  none: 'no local model',
  offer: 'not downloaded',
  paused: 'download paused',
  downloading: 'downloading',
  loading: 'loading',
  ready: 'ready',
  busy: 'answering',
  failed: 'failed',
}

function describe(status: LocalEngineStatus): string {
  if (status.kind === 'none') return stateLabels[status.state]
  const speed = status.decodeTokensPerS > 0 ? ` · ${status.decodeTokensPerS.toFixed(0)} tok/s` : ''
  const shared = status.role === 'client' ? ' · shared with another tab' : ''
  return `${status.kind === 'webgpu' ? 'WebGPU' : 'WASM'} · ${status.modelId} · ${stateLabels[status.state]}${speed}${shared}`
}

/** The local model at a glance: what runs, its download, its storage, and a delete button. */
export function mountEngineView(root: HTMLElement, engine: LocalEngine, report: (error: unknown) => void, settings: SettingsStore, consent: ConsentStore): () => void {
  const summary = h('span', { class: 'engine-summary', 'data-testid': 'engine-status' })
  const bar = h('progress', { max: 1, value: 0, 'data-testid': 'download-progress', hidden: true })
  const figures = h('span', { class: 'engine-figures', 'data-testid': 'download-figures' })
  const message = h('div', { class: 'engine-message', 'data-testid': 'engine-message', role: 'status' })
  const storage = h('span', { class: 'engine-storage', 'data-testid': 'storage' })
  const remove = h('button', { type: 'button', class: 'link danger', 'data-testid': 'delete-model' }, 'Delete model')
  remove.addEventListener('click', () => {
    if (!window.confirm('Delete the downloaded model from this browser?')) return
    engine
      .deleteModel()
      .then(() => forgetAll(consent))
      .then(showStorage, report)
  })
  root.append(h('div', { class: 'engine-row' }, summary, bar, figures, h('span', { class: 'spacer' }), storage, remove), message)
  const stopOffer = mountModelOffer(root, engine, consent, report)
  root.append(settingsForm(settings, report))

  const showStorage = (): void => {
    storageUsage().then(
      ({ usedBytes, quotaBytes, persisted }) => {
        storage.textContent = `storage ${formatBytes(usedBytes)}${quotaBytes ? ` of ${formatBytes(quotaBytes)}` : ''}${persisted ? ' · kept' : ''}`
      },
      () => undefined,
    )
  }

  const render = (): void => {
    const status = engine.status()
    summary.textContent = describe(status)
    root.dataset.engineState = status.state
    const download = status.state === 'downloading' || status.state === 'paused' ? status.download : undefined
    bar.hidden = !download
    figures.textContent = download ? downloadText(download, status.state === 'paused') : ''
    if (download) bar.value = download.fraction
    message.textContent = status.message ?? ''
    message.className = `engine-message${status.state === 'failed' ? ' error' : ''}`
    if (status.state === 'ready') showStorage()
  }
  const unsubscribe = engine.on('status', onNextFrame(render))
  render()
  showStorage()
  return () => {
    unsubscribe()
    stopOffer()
  }
}

function downloadText(download: DownloadFigures, paused: boolean): string {
  const done = `${formatBytes(download.loadedBytes)} / ${formatBytes(download.totalBytes)} · ${Math.floor(download.fraction * 100)}%`
  return paused ? `${done} · paused` : `${done} · ${formatBytes(download.bytesPerS)}/s · ${formatEta(download.etaS)} left`
}
