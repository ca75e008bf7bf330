import { registerSW } from 'virtual:pwa-register'
import { startApp } from './app'
import './ui/styles.css'

const root = document.getElementById('app')
if (root) {
  startApp(root).catch((error: unknown) => {
    root.prepend(Object.assign(document.createElement('p'), { className: 'fatal', textContent: `edgeswarm could not start: ${error instanceof Error ? error.message : String(error)}` }))
    console.error(error)
  })
}

registerSW({ immediate: true, onRegisterError: (error: unknown) => console.warn('service worker not registered; no offline mode', error) })
