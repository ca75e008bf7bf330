import { describe, expect, it } from 'vitest'
import { embeddingEntry, pinsFor, pinsOf, wasmEntries, webGpuEntries } from '../../src/inference/model-catalog'
import { ModelIntegrityError } from '../../src/inference/model-integrity'
import { isForeignLink, linkEntry, offerFor, type DeviceFacts } from '../../src/inference/model-fit'
import { webLlmAppConfig, webLlmRecord } from '../../src/inference/webgpu/app-config'
import { integrityFailedUrl, toModelLoadError } from '../../src/inference/webgpu/load-error'
import { PinnedFilesSchema } from '../../src/inference/wasm/model-download'
import { parseRoomUrl } from '../../src/swarm/room/room-url'
import * as v from 'valibot'

const revision = /\/resolve\/[0-9a-f]{40}\//
const cpu: DeviceFacts = { webgpu: { ok: false, reason: 'none here' }, deviceMemoryGb: 8, cores: 8 }

describe('the catalog pins what it downloads', () => {
  it('names every GGUF at a revision (a commit, never a branch) with its SHA-256 and exact size', () => {
    for (const entry of wasmEntries) {
      expect(entry.url, entry.id).toMatch(revision)
      expect(entry.sha256, entry.id).toMatch(/^[0-9a-f]{64}$/)
      expect(Number.isInteger(entry.downloadBytes) && entry.downloadBytes % 1_000_000 !== 0, `${entry.id}: an exact size`).toBe(true)
      expect(pinsOf(entry)).toEqual([{ sha256: entry.sha256, bytes: entry.downloadBytes }])
      expect(pinsFor(entry.url)).toEqual(pinsOf(entry))
    }
  })

  it('has no pin for a file it does not list; the embedding model has what the catalog knows of it', () => {
    expect(pinsFor('https://example.com/other.gguf')).toBeUndefined()
    const { sha256, bytes } = embeddingEntry
    expect(pinsFor(embeddingEntry.url)).toEqual(sha256 === undefined ? undefined : [{ sha256, bytes }])
  })

  it('builds WebLLM records of its own: weights at a revision where one is known, integrity from the catalog, failures as errors', () => {
    const config = webLlmAppConfig()
    expect(config.model_list.map((record) => record.model_id)).toEqual(webGpuEntries.map((entry) => entry.id))
    for (const record of config.model_list) {
      expect(record.integrity?.onFailure).toBe('error')
      expect(record.model_lib).toMatch(/_cs1k-webgpu\.wasm$/)
      if (record.integrity?.config !== undefined) expect(record.model, record.model_id).toMatch(revision)
    }
    const pinned = config.model_list.filter((record) => revision.test(record.model)).map((record) => record.model_id)
    expect(pinned).toEqual(['Qwen3-0.6B-q4f16_1-MLC', 'Qwen3-1.7B-q4f16_1-MLC', 'Qwen3-4B-q4f16_1-MLC'])
    const f16 = config.model_list.find((record) => record.model_id === 'Qwen3-1.7B-q4f16_1-MLC')
    expect(f16).toMatchObject({ required_features: ['shader-f16'], overrides: { context_window_size: 4096 }, vram_required_MB: 2036.66, low_resource_required: true })
    expect(f16?.integrity?.config).toMatch(/^sha256-[A-Za-z0-9+/]{43}=$/)
    expect(f16?.integrity?.tokenizer?.['tokenizer.json']).toMatch(/^sha256-[A-Za-z0-9+/]{43}=$/)
  })

  it('passes a test build through unchanged, so tests can set their own pins', () => {
    const needs = { modelId: 'Test-MLC', label: 'Test', vramRequiredMb: 1, lowResourceRequired: false, bufferSizeRequiredBytes: 0, requiredFeatures: [], contextWindowSize: 0 }
    const record = webLlmRecord({ needs, webllm: { model: 'http://127.0.0.1/m/resolve/x/', modelLib: 'http://127.0.0.1/lib.wasm', integrity: { config: 'sha256-abc' } } })
    expect(record).toEqual({
      model: 'http://127.0.0.1/m/resolve/x/',
      model_id: 'Test-MLC',
      model_lib: 'http://127.0.0.1/lib.wasm',
      vram_required_MB: 1,
      low_resource_required: false,
      integrity: { config: 'sha256-abc', onFailure: 'error' },
    })
  })
})

describe("a link's model", () => {
  it('is checked against the sha256 the link gives, and a catalog file keeps its own pins whatever the link says', () => {
    const url = 'https://cdn.example/tiny.gguf'
    const sha = 'a'.repeat(64)
    expect(offerFor({ choice: 'wasm', modelUrl: url, modelSha256: sha, device: cpu }).selected).toMatchObject({ url, sha256: sha, downloadBytes: 0 })
    const listed = wasmEntries[0]
    if (!listed) throw new Error('no catalog GGUF')
    const offer = offerFor({ choice: 'wasm', modelUrl: listed.url, modelSha256: sha, device: cpu })
    expect(offer.selected).toBe(listed)
    expect(offer.fits.filter((fit) => fit.entry.id === listed.id)).toHaveLength(1)
  })

  it('is foreign when its origin is not the app’s', () => {
    expect(isForeignLink(linkEntry('https://cdn.example/tiny.gguf'), 'http://127.0.0.1:8787')).toBe(true)
    expect(isForeignLink(linkEntry('http://127.0.0.1:8787/models/tiny.gguf'), 'http://127.0.0.1:8787')).toBe(false)
    const listed = wasmEntries[0]
    if (listed) expect(isForeignLink(listed, 'http://127.0.0.1:8787')).toBe(false)
  })

  it('reads sha256= from the app URL, lowercased, and warns about one that is not a SHA-256', () => {
    const upper = 'AB'.repeat(32)
    expect(parseRoomUrl(`http://h/?room=r&model=/m.gguf&sha256=${upper}`).modelSha256).toBe(upper.toLowerCase())
    const bad = parseRoomUrl('http://h/?room=r&model=/m.gguf&sha256=1234')
    expect(bad.modelSha256).toBeUndefined()
    expect(bad.warnings.join(' ')).toMatch(/sha256=1234 is not 64 hex digits/)
  })

  it('reaches a worker only as valid pins', () => {
    expect(v.safeParse(PinnedFilesSchema, [{ sha256: 'f'.repeat(64), bytes: 3 }]).success).toBe(true)
    expect(v.safeParse(PinnedFilesSchema, [{ sha256: 'not hex' }]).success).toBe(false)
    expect(v.safeParse(PinnedFilesSchema, [{ sha256: 'f'.repeat(64), bytes: -1 }]).success).toBe(false)
  })
})

describe("WebLLM's integrity failure", () => {
  it('becomes a ModelIntegrityError naming the file, and its URL is found to forget it from the cache', () => {
    // WebLLM 0.2.86's IntegrityError message, as its worker sends it across (a string).
    const failure =
      'Error: Integrity verification failed for https://huggingface.co/mlc-ai/X-MLC/resolve/abc/mlc-chat-config.json\n  Expected: sha256-AAA=\n  Actual: sha256-BBB=\nThis may indicate file corruption or tampering.'
    expect(integrityFailedUrl(failure)).toBe('https://huggingface.co/mlc-ai/X-MLC/resolve/abc/mlc-chat-config.json')
    const error = toModelLoadError(failure)
    expect(error).toBeInstanceOf(ModelIntegrityError)
    expect(error.message).toBe('the download of mlc-chat-config.json did not match its published hash; it was deleted — try again (expected sha256-AAA=, got sha256-BBB=)')
    expect(integrityFailedUrl(new Error('Failed to fetch'))).toBeNull()
  })
})
