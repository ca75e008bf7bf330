import { defineConfig } from 'vite'
import { precompress } from './scripts/vite-precompress.ts'
import { VitePWA } from 'vite-plugin-pwa'
import { buildDefines } from './scripts/build-id.ts'

const crossOriginIsolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
}

export default defineConfig({
  // The app's version and build id (src/shared/build.ts): shown in the engine view, said in the tab handshake.
  define: buildDefines(),
  build: { target: 'es2022', sourcemap: true },
  worker: { format: 'es' },
  server: { headers: crossOriginIsolation },
  preview: { headers: crossOriginIsolation },
  plugins: [
    precompress(),
    VitePWA({
      // A new version waits until the user or an idle profile agrees (src/update.ts), never reloading a busy tab.
      registerType: 'prompt',
      injectRegister: null,
      includeAssets: ['icons/icon.svg'],
      manifest: {
        name: 'edgeswarm',
        short_name: 'edgeswarm',
        description: 'Open a URL and this tab becomes a node of an AI swarm.',
        theme_color: '#14161c',
        background_color: '#14161c',
        display: 'standalone',
        // Part "rooms": `/` lands in the room this profile was in last (src/swarm/room/launch.ts).
        id: '/',
        scope: '/',
        start_url: '/',
        screenshots: [
          { src: '/screenshots/wide.png', sizes: '1280x800', type: 'image/png', form_factor: 'wide', label: 'A room: chat with the local model, peers and shared memory' },
          { src: '/screenshots/narrow.png', sizes: '412x915', type: 'image/png', form_factor: 'narrow', label: 'A room on a phone' },
        ],
        shortcuts: [
          { name: 'Last room', short_name: 'Last room', url: '/?last', description: 'Open the room you were in last', icons: [{ src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' }] },
          { name: 'New room', short_name: 'New room', url: '/?new', description: 'Make a new room with a new key', icons: [{ src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' }] },
        ],
        share_target: { action: '/share', method: 'GET', params: { title: 'title', text: 'text', url: 'url' } },
        file_handlers: [{ action: '/open-file', accept: { 'text/plain': ['.txt'], 'text/markdown': ['.md', '.markdown'] } }],
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: '/icons/icon.svg', sizes: 'any', type: 'image/svg+xml' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,mjs,css,html,svg,png,webmanifest,wasm}'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/v1\//, /^\/signal/, /^\/healthz/],
        // No skipWaiting: a new worker waits for SKIP_WAITING (src/update.ts). clientsClaim lets the
        // first one control the page that installed it, and a new one every open tab once it is told.
        clientsClaim: true,
        cleanupOutdatedCaches: true,
        // The engines' code (wllama's wasm, WebLLM) is several MB a file and must work offline.
        maximumFileSizeToCacheInBytes: 24 * 1024 * 1024,
      },
    }),
  ],
})
