import { existsSync } from 'node:fs'
import type { LaunchOptions } from '@playwright/test'

/** Debian's Chromium, started the way this machine allows (no downloads, no sandbox). */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((path): path is string => Boolean(path))
  const found = candidates.find((path) => existsSync(path))
  if (!found) throw new Error(`Chromium not found (tried ${candidates.join(', ')}): apt-get install -y chromium, or set CHROMIUM_PATH`)
  return found
}

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
]

export function chromiumLaunchOptions(): LaunchOptions {
  return { executablePath: chromiumPath(), args: chromiumArgs }
}
