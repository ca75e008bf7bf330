// A model named by RELAY_MODEL: a Hugging Face reference or a URL that node-llama-cpp resolves
// and downloads (./download.ts), checked here at start so a bad reference is a config error.
//
//   hf:owner/repo:quant               the repo's GGUF of that quantization (Q4_K_M when omitted)
//   hf:owner/repo/path/file.gguf      one file, from the main branch
//   hf:owner/repo/file.gguf#revision  the same, pinned to a commit hash (or a branch or tag)
//   https://host/path/file.gguf       any URL of a GGUF file (http:// too)
import path from 'node:path'
import type { Env } from '../env'

/** A model downloaded on first start into `cacheDir`, then read from there. */
export interface RemoteModel {
  /** As RELAY_MODEL gave it. */
  ref: string
  /** The id clients name (besides `ref` itself): see modelRefId. */
  id: string
  /** Where downloads go and are found again: RELAY_DATA_DIR/models, else the user's cache. */
  cacheDir: string
  /** RELAY_HF_ENDPOINT (ending in `/`); null: node-llama-cpp's (HF_ENDPOINT, MODEL_ENDPOINT, else https://huggingface.co/). */
  hfEndpoint: string | null
}

const name = '[A-Za-z0-9][A-Za-z0-9._-]*'
const taggedRef = new RegExp(`^hf:(${name})/(${name})(?::([A-Za-z0-9._-]+))?$`)
const fileRef = new RegExp(`^hf:(${name})/(${name})/((?:[^/#?\\s]+/)*[^/#?\\s]+\\.gguf)(?:#([A-Za-z0-9._/-]+))?$`, 'i')

const expected = 'expected hf:owner/repo:quant, hf:owner/repo/file.gguf (optionally #revision) or an https:// URL of a .gguf file; a local file goes in RELAY_MODEL_PATH'

/**
 * The id clients name the model by: an `hf:` reference without its scheme, its revision and
 * `.gguf` (`owner/repo:quant`, `owner/repo/file`); a URL's file name without `.gguf`, as
 * RELAY_MODEL_PATH's. Null with the reason when `ref` is none of the forms above.
 */
export function modelRefId(ref: string): { id: string } | { problem: string } {
  const tagged = taggedRef.exec(ref)
  if (tagged !== null) return { id: ref.slice('hf:'.length) }
  const file = fileRef.exec(ref)
  if (file !== null) return { id: `${file[1] ?? ''}/${file[2] ?? ''}/${(file[3] ?? '').replace(/\.gguf$/i, '')}` }
  if (ref.startsWith('hf:')) return { problem: `${JSON.stringify(ref)} is not a Hugging Face reference: ${expected}` }
  let url: URL
  try {
    url = new URL(ref)
  } catch {
    return { problem: `${JSON.stringify(ref)}: ${expected}` }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: `${JSON.stringify(ref)}: a URL must be https:// (or http://); ${expected}` }
  if (url.username !== '' || url.password !== '') return { problem: `${JSON.stringify(ref)}: credentials do not belong in the URL (the log shows it)` }
  const fileName = decodeURIComponent(url.pathname.split('/').pop() ?? '')
  if (!/\.gguf$/i.test(fileName) || fileName.length === '.gguf'.length) return { problem: `${JSON.stringify(ref)}: the URL must name a .gguf file; ${expected}` }
  return { id: fileName.slice(0, -'.gguf'.length) }
}

/** RELAY_DATA_DIR/models, else `$XDG_CACHE_HOME/edgeswarm-relay/models`, else `$HOME/.cache/edgeswarm-relay/models`; null without any. */
export function modelCacheDir(env: Env, cwd: string): string | null {
  const dataDir = env.RELAY_DATA_DIR?.trim() ?? ''
  if (dataDir !== '') return path.join(path.resolve(cwd, dataDir), 'models')
  const xdg = env.XDG_CACHE_HOME?.trim() ?? ''
  if (xdg !== '' && path.isAbsolute(xdg)) return path.join(xdg, 'edgeswarm-relay', 'models')
  const home = env.HOME?.trim() ?? ''
  return home !== '' && path.isAbsolute(home) ? path.join(home, '.cache', 'edgeswarm-relay', 'models') : null
}

/** Reads RELAY_MODEL (with RELAY_HF_ENDPOINT); null when unset. Problems go to `problems`. */
export function loadRemoteModel(env: Env, cwd: string, problems: string[]): RemoteModel | null {
  const ref = env.RELAY_MODEL?.trim() ?? ''
  if (ref === '') return null
  if ((env.RELAY_MODEL_PATH?.trim() ?? '') !== '') {
    problems.push('RELAY_MODEL and RELAY_MODEL_PATH are both set: the relay runs one embedded model; keep RELAY_MODEL (a model by name, downloaded) or RELAY_MODEL_PATH (a local GGUF file)')
    return null
  }
  const named = modelRefId(ref)
  if ('problem' in named) {
    problems.push(`RELAY_MODEL=${named.problem}`)
    return null
  }
  const rawEndpoint = env.RELAY_HF_ENDPOINT?.trim() ?? ''
  let hfEndpoint: string | null = null
  if (rawEndpoint !== '') {
    if (/^https?:\/\/[^/\s]+(\/\S*)?$/.test(rawEndpoint) && URL.canParse(rawEndpoint)) hfEndpoint = rawEndpoint.endsWith('/') ? rawEndpoint : `${rawEndpoint}/`
    else problems.push(`RELAY_HF_ENDPOINT=${JSON.stringify(rawEndpoint)}: expected an http(s) URL like https://huggingface.co`)
  }
  const cacheDir = modelCacheDir(env, cwd)
  if (cacheDir === null) {
    problems.push('RELAY_MODEL needs a directory to keep the download in: set RELAY_DATA_DIR (models go to RELAY_DATA_DIR/models), XDG_CACHE_HOME or HOME')
    return null
  }
  return { ref, id: named.id, cacheDir, hfEndpoint }
}
