/**
 * A push-to-pull bridge: producers `push`, `end` or `fail`; one consumer iterates. When the
 * consumer stops early (`break`), `onReturn` runs so the producer can stop too.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #values: T[] = []
  #waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | null = null
  #done = false
  #error: { error: unknown } | null = null

  constructor(private readonly onReturn: () => void = () => undefined) {}

  push(value: T): void {
    if (this.#done) return
    if (this.#waiting) {
      const waiting = this.#waiting
      this.#waiting = null
      waiting.resolve({ value, done: false })
    } else this.#values.push(value)
  }

  end(): void {
    if (this.#done) return
    this.#done = true
    this.#waiting?.resolve({ value: undefined, done: true })
    this.#waiting = null
  }

  fail(error: unknown): void {
    if (this.#done) return
    this.#done = true
    this.#error = { error }
    this.#waiting?.reject(error)
    this.#waiting = null
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.#values.shift()
    if (value !== undefined) return Promise.resolve({ value, done: false })
    // The producer's error, passed on as it came (an Error from every producer of ours).
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    if (this.#error) return Promise.reject(this.#error.error)
    if (this.#done) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject }
    })
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.#done) {
      this.#done = true
      this.onReturn()
    }
    this.#values.length = 0
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this
  }
}
