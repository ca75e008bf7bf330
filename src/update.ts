import { registerSW } from 'virtual:pwa-register'
import type { LocalEngine } from './inference/local-engine'
import type { Busy } from './shared/busy'
import { buildLabel } from './shared/build'
import { ProfileBusy, profileBusyChannelName } from './shared/profile-busy'
import { UpdateFlow, type UpdateApi } from './shared/update-flow'

/** A long-open tab asks the server for a new version this often, and when it becomes visible (at most once a minute). */
const checkEveryMs = 30 * 60_000
const visibleCheckGapMs = 60_000

export interface Updates {
  readonly flow: UpdateFlow
  readonly api: UpdateApi
}

/**
 * Registers the service worker in prompt mode and runs the update flow: a new version waits
 * until the user presses Reload or no tab of the profile is busy (`busy` here, the others' over
 * a BroadcastChannel); checks for one every 30 minutes and when the tab comes back into view.
 */
export function watchForUpdates(busy: Busy): Updates {
  const profile = new ProfileBusy(busy, new BroadcastChannel(profileBusyChannelName))
  const supported = 'serviceWorker' in navigator
  // Its callbacks come after an import, when `flow` exists.
  const updateWorker = supported
    ? registerSW({
        immediate: true,
        onNeedRefresh: () => flow.waiting(),
        // The flow reloads, when it may; the plugin must not.
        onNeedReload: () => undefined,
        onRegisterError: (error: unknown) => console.warn('service worker not registered; no offline mode', error),
      })
    : null
  const flow = new UpdateFlow({ skipWaiting: () => updateWorker?.(false) ?? Promise.resolve(), reload: () => location.reload() }, busy, profile)
  flow.on('error', (error) => console.warn('update:', error))
  const check = async (): Promise<void> => {
    // No service worker in an insecure page: nothing to update.
    const registration = supported ? await navigator.serviceWorker.getRegistration() : undefined
    await registration?.update()
  }
  const checkQuietly = (): void => void check().catch((error: unknown) => console.warn('update check failed (offline?):', error))
  if (supported) {
    // The first worker taking control (first visit, clientsClaim) is no update; a later change is.
    let controlled = navigator.serviceWorker.controller !== null
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      if (controlled) flow.controllerChanged()
      controlled = true
    })
    setInterval(checkQuietly, checkEveryMs)
    let lastCheckMs = Date.now()
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'visible' || Date.now() - lastCheckMs < visibleCheckGapMs) return
      lastCheckMs = Date.now()
      checkQuietly()
    })
  }
  const api: UpdateApi = { build: buildLabel(), state: () => flow.state, check, busy: () => busy.reasons() }
  return { flow, api }
}

/** A model download holds `busy` while it runs: an update never cuts it off. */
export function holdWhileDownloading(engine: LocalEngine, busy: Busy): void {
  let release: (() => void) | null = null
  engine.on('status', ({ state }) => {
    if (state === 'downloading' && !release) release = busy.hold('download')
    else if (state !== 'downloading' && release) {
      release()
      release = null
    }
  })
}
