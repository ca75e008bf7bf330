import { startApp } from './app'
import { Busy } from './shared/busy'
import { watchForUpdates } from './update'
import './ui/styles.css'

// What this tab is in the middle of: a new version waits for it (and for the profile's other tabs).
const busy = new Busy()
// Registered before the app starts, so that a build that fails to start can still be replaced.
const updates = watchForUpdates(busy)

const root = document.getElementById('app')
if (root) {
  startApp(root, { busy, updates }).catch((error: unknown) => {
    root.prepend(Object.assign(document.createElement('p'), { className: 'fatal', textContent: `edgeswarm could not start: ${error instanceof Error ? error.message : String(error)}` }))
    console.error(error)
  })
}
