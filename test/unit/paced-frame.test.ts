// Views that follow a stream of room updates draw on a pace set by what their frames cost
// (ui/dom.ts FramePacer): every update on a tab with time to spare, a few a second on a busy
// one, the last state always drawn, every such view in the same frame.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FramePacer, onPacedFrame, type PacerClock } from '../../src/ui/dom'

const frameMs = 16

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
})

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

/** The page's clock, where a draw "takes" what it adds to `spent` (fake timers cannot pass inside a callback). */
function fakePage(): { clock: PacerClock; spend: (ms: number) => void } {
  let spent = 0
  return {
    clock: { now: () => performance.now() + spent, frame: (run) => setTimeout(run, frameMs), after: (ms, run) => setTimeout(run, ms) },
    spend: (ms) => {
      spent += ms
    },
  }
}

/** Updates `state` every `everyMs` for `forMs`, asking the pacer to draw each time, then lets the last draw happen. */
function stream(pacer: FramePacer, draw: () => void, everyMs: number, forMs: number, state: { value: number }): void {
  for (let at = 0; at < forMs; at += everyMs) {
    state.value++
    pacer.schedule(draw)
    vi.advanceTimersByTime(everyMs)
  }
  vi.advanceTimersByTime(1_000)
}

describe('FramePacer', () => {
  it('on a tab with time to spare every update of a stream draws, on its next frame', () => {
    const page = fakePage()
    const pacer = new FramePacer(page.clock)
    const state = { value: 0 }
    const drawn: number[] = []
    const draw = (): void => {
      page.spend(1)
      drawn.push(state.value)
    }
    stream(pacer, draw, 40, 1_000, state)
    expect(drawn).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
  })

  it('on a busy tab a stream draws as often as a quarter of its time allows, its last state always drawn', () => {
    const page = fakePage()
    const pacer = new FramePacer(page.clock)
    const state = { value: 0 }
    const drawn: number[] = []
    // A frame of 20 ms: the next draw 80 ms after one began, at the soonest.
    const draw = (): void => {
      page.spend(20)
      drawn.push(state.value)
    }
    stream(pacer, draw, 40, 2_000, state)
    expect(pacer.gapMs).toBeGreaterThanOrEqual(80)
    expect(pacer.gapMs).toBeLessThan(90)
    expect(drawn.length).toBeLessThanOrEqual(Math.ceil(2_000 / 80) + 1)
    expect(drawn.length).toBeGreaterThan(10)
    expect(drawn.at(-1)).toBe(50)
    for (let i = 1; i < drawn.length; i++) expect(drawn[i]).toBeGreaterThan(drawn[i - 1] as number)
  })

  it('however slow its frames, a stream draws every maxGapMs at least', () => {
    const page = fakePage()
    const pacer = new FramePacer(page.clock)
    const state = { value: 0 }
    const drawn: number[] = []
    stream(
      pacer,
      () => {
        page.spend(200)
        drawn.push(state.value)
      },
      40,
      2_000,
      state,
    )
    expect(pacer.gapMs).toBe(250)
    expect(drawn.length).toBeGreaterThanOrEqual(Math.floor(2_000 / (250 + frameMs)))
    expect(drawn.at(-1)).toBe(50)
  })

  it("the page's paced views draw in the same frame, each once, and one that throws leaves the others drawn", () => {
    vi.stubGlobal('requestAnimationFrame', (run: () => void) => setTimeout(run, frameMs))
    const frames: number[] = []
    const memory = onPacedFrame(() => frames.push(performance.now()))
    const counts = onPacedFrame(() => frames.push(performance.now()))
    const broken = onPacedFrame(() => {
      throw new Error('a view that throws')
    })
    const reported = vi.spyOn(console, 'error').mockImplementation(() => {})
    memory()
    counts()
    memory()
    broken()
    vi.advanceTimersByTime(frameMs)
    expect(frames).toHaveLength(2)
    expect(frames[0]).toBe(frames[1])
    expect(reported).toHaveBeenCalledOnce()
  })
})
