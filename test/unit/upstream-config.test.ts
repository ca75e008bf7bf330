// RELAY_UPSTREAM_URLS and its neighbours: the comma-separated form with models and keys in
// order, the JSON form, the single RELAY_UPSTREAM_URL as before, and every mistake named at once.
import { describe, expect, it } from 'vitest'
import { RelayConfigError } from '../../src/relay/config'
import { loadV1Config } from '../../src/relay/v1/config'

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadV1Config(env)
  } catch (error) {
    if (error instanceof RelayConfigError) return error.problems
    throw error
  }
  throw new Error('the configuration was accepted')
}

describe('RELAY_UPSTREAM_URLS', () => {
  it('reads `URL` and `URL model|model` entries, with RELAY_UPSTREAM_KEYS in the same order', () => {
    const config = loadV1Config({
      RELAY_UPSTREAM_URLS: 'http://10.0.0.5:8000/v1/ qwen3-8b|Qwen/Qwen3-32B , https://api.example.org/v1?region=eu,http://127.0.0.1:11434/v1 qwen3:4b',
      RELAY_UPSTREAM_KEYS: 'sk-a,,sk-c',
      RELAY_UPSTREAM_BREAKER_FAILURES: '5',
      RELAY_UPSTREAM_BREAKER_COOLDOWN_MS: '10000',
    })
    expect(config.upstreams?.targets).toEqual([
      { url: 'http://10.0.0.5:8000/v1', key: 'sk-a', models: ['qwen3-8b', 'Qwen/Qwen3-32B'] },
      { url: 'https://api.example.org/v1?region=eu', key: null, models: null },
      { url: 'http://127.0.0.1:11434/v1', key: 'sk-c', models: ['qwen3:4b'] },
    ])
    expect(config.upstreams?.breaker).toEqual({ failureThreshold: 5, cooldownMs: 10_000, maxCooldownMs: 80_000 })
    expect(config.upstreams).toMatchObject({ timeoutMs: 60_000, retries: 2 })
  })

  it('reads the JSON form, keys and models inside', () => {
    const config = loadV1Config({
      RELAY_UPSTREAM_URLS: JSON.stringify([{ url: 'http://a.example/v1', key: 'sk-a', models: ['m-one'] }, { url: 'http://b.example/v1' }]),
    })
    expect(config.upstreams?.targets).toEqual([
      { url: 'http://a.example/v1', key: 'sk-a', models: ['m-one'] },
      { url: 'http://b.example/v1', key: null, models: null },
    ])
  })

  it('keeps RELAY_UPSTREAM_URL as one upstream with its key and the default breaker', () => {
    const config = loadV1Config({ RELAY_UPSTREAM_URL: 'http://127.0.0.1:9/v1', RELAY_UPSTREAM_KEY: 'sk-x' })
    expect(config.upstreams).toEqual({
      targets: [{ url: 'http://127.0.0.1:9/v1', key: 'sk-x', models: null }],
      timeoutMs: 60_000,
      retries: 2,
      breaker: { failureThreshold: 3, cooldownMs: 30_000, maxCooldownMs: 240_000 },
    })
    expect(loadV1Config({}).upstreams).toBeNull()
  })

  it('names every mistake of the comma-separated form at once', () => {
    const problems = problemsOf({
      RELAY_UPSTREAM_URL: 'http://single.example/v1',
      RELAY_UPSTREAM_KEY: 'sk-single',
      RELAY_UPSTREAM_URLS: 'not-a-url, ftp://files.example/v1, http://a.example/v1 m1 m2, http://a.example/v1 |x',
      RELAY_UPSTREAM_KEYS: 'k1,k2',
      RELAY_UPSTREAM_BREAKER_FAILURES: '0',
    })
    const expected = [
      /RELAY_UPSTREAM_KEYS: 2 keys for 4 upstreams/,
      /entry 1: "not-a-url" is not a URL/,
      /entry 2: "ftp:\/\/files.example\/v1" is not an http: or https: URL/,
      /entry 3: "http:\/\/a.example\/v1 m1 m2" is not `URL` or `URL model\|model`/,
      /entry 4: model names may not be empty/,
      /RELAY_UPSTREAM_URL and RELAY_UPSTREAM_URLS are both set/,
      /RELAY_UPSTREAM_KEY is for RELAY_UPSTREAM_URL/,
      /http:\/\/a.example\/v1 is listed twice/,
      /RELAY_UPSTREAM_BREAKER_FAILURES="0": expected an integer from 1 to 1000/,
    ]
    for (const pattern of expected)
      expect(
        problems.some((problem) => pattern.test(problem)),
        `${String(pattern)} in ${JSON.stringify(problems, null, 1)}`,
      ).toBe(true)
    expect(problems).toHaveLength(expected.length)
  })

  it('names the mistakes of the JSON form, by path', () => {
    expect(problemsOf({ RELAY_UPSTREAM_URLS: '[{"url": "http://a.example/v1",' })[0]).toMatch(/RELAY_UPSTREAM_URLS: not JSON/)
    expect(problemsOf({ RELAY_UPSTREAM_URLS: '[]' })).toEqual(['RELAY_UPSTREAM_URLS: expected at least one upstream'])
    const problems = problemsOf({
      RELAY_UPSTREAM_URLS: JSON.stringify([{ url: 'http://a.example/v1', models: [] }, { url: 'x' }, { url: 'http://c.example/v1', modles: ['typo'] }]),
      RELAY_UPSTREAM_KEYS: 'k',
    })
    expect(problems.join('\n')).toMatch(/RELAY_UPSTREAM_KEYS: with RELAY_UPSTREAM_URLS as JSON/)
    expect(problems.join('\n')).toMatch(/RELAY_UPSTREAM_URLS\[2\.modles\]/)
    const valid = problemsOf({ RELAY_UPSTREAM_URLS: JSON.stringify([{ url: 'http://a.example/v1', models: [] }, { url: 'x' }]) })
    expect(valid).toEqual([expect.stringMatching(/\[0\]\.models: an empty model list serves nothing/), expect.stringMatching(/\[1\]\.url: "x" is not a URL/)])
  })

  it('refuses RELAY_UPSTREAM_KEYS without RELAY_UPSTREAM_URLS', () => {
    expect(problemsOf({ RELAY_UPSTREAM_KEYS: 'k' })).toEqual(['RELAY_UPSTREAM_KEYS is set but RELAY_UPSTREAM_URLS is not'])
  })
})
