// The rules that write the router's labelled set (router-set.json). Each prompt comes from a
// template whose kind carries a difficulty for a 1.7B model; extras add to it (more questions,
// a long history, non-Latin script, constraints, a request for deep thinking); the label says
// whether the local model's answer is good enough: difficulty below `goodEnoughBelow`. A seeded
// 5% of labels flip, as real feedback is noisy. Regenerate with
// `UPDATE_ROUTER_SET=1 npx vitest run test/unit/micronet-router-set.test.ts`.
import { mulberry32 } from '../../shared/hash'

export interface RouterExample {
  prompt: string
  /** Earlier turns before the prompt (the request is rebuilt with this many short messages). */
  history: number
  thinking: boolean
  kind: string
  difficulty: number
  /** 1: the local model's answer is good enough; 0: it should go further. */
  label: 0 | 1
}

export const goodEnoughBelow = 2
const flipShare = 0.05

type Pick = <T>(values: readonly T[]) => T
interface Template {
  kind: string
  difficulty: number
  write: (pick: Pick, random: () => number) => string
}

const countries = ['France', 'Kenya', 'Peru', 'Japan', 'Canada', 'Norway', 'Vietnam', 'Chile', 'Egypt', 'Poland']
const terms = ['photosynthesis', 'inflation', 'a haiku', 'an API', 'entropy', 'a mortgage', 'latency', 'a noun', 'gravity', 'a cache']
const languages = ['French', 'German', 'Spanish', 'Italian', 'Japanese']
const codeLanguages = ['TypeScript', 'Python', 'Rust', 'Go', 'Java']
const codeTasks = ['reverses a string', 'checks if a number is even', 'sums a list', 'returns the maximum of two numbers', 'counts vowels in a word']
const theorems = [
  'there are infinitely many primes',
  'the square root of 2 is irrational',
  'every tree with n nodes has n - 1 edges',
  'the sum of the first n odd numbers is n^2',
  'a bounded monotone sequence converges',
  'the eigenvalues of a symmetric matrix are real',
]
const designs = [
  'a rate limiter for a distributed API',
  'a CRDT for collaborative text',
  'an eventually consistent key-value store',
  'a job scheduler with priorities and retries',
  'a cache invalidation strategy for a CDN',
]
const pairs = [
  ['REST', 'gRPC'],
  ['SQL', 'NoSQL'],
  ['threads', 'async I/O'],
  ['Raft', 'Paxos'],
  ['monoliths', 'microservices'],
]
const sentences = [
  'The meeting moved to Thursday because the room was booked.',
  'Our team shipped the new search page last week and users like it.',
  'Rain is expected in the afternoon, so bring an umbrella.',
  'The library opens at nine and closes at six on weekdays.',
  'Please send the report before Friday so we can review it.',
  'The garden needs water every morning during the summer.',
  'Prices rose slightly in March after a quiet winter.',
  'The train was late, and most passengers missed their connection.',
]
const nonLatin = ['什么是光合作用？', 'Что такое инфляция?', '日本の首都はどこですか？', 'ما هي عاصمة مصر؟', '请解释一下什么是缓存。', 'Как приготовить борщ?']
const codeLines = [
  'const total = items.reduce((sum, item) => sum + item.price, 0);',
  'for (let i = 0; i <= list.length; i++) { result.push(list[i] * 2); }',
  'async function load(url) { const response = await fetch(url); return response.json(); }',
  'if (user.age > 18 || user.role = "admin") { grant(user); }',
  'export class Queue<T> { private items: T[] = []; push(item: T) { this.items.push(item); } }',
]

const passage = (pick: Pick, random: () => number, min: number, max: number): string => {
  const length = min + Math.floor(random() * (max - min))
  let text = ''
  while (text.length < length) text += `${pick(sentences)} `
  return text.trim()
}
const code = (pick: Pick, lines: number): string => Array.from({ length: lines }, () => pick(codeLines)).join('\n')

const templates: readonly Template[] = [
  { kind: 'greeting', difficulty: 0, write: (pick) => pick(['hi', 'Hello there!', 'thanks, that helped', 'Good morning!', 'thank you so much']) },
  {
    kind: 'fact',
    difficulty: 0.5,
    write: (pick) => pick([`What is the capital of ${pick(countries)}?`, `Define ${pick(terms)}.`, `What is ${pick(terms)}?`, `Name three cities in ${pick(countries)}.`]),
  },
  { kind: 'translate', difficulty: 0.5, write: (pick) => `Translate into ${pick(languages)}: "${pick(sentences)}"` },
  { kind: 'summarize', difficulty: 0.5, write: (pick, random) => `Summarize the following text in two sentences:\n\n${passage(pick, random, 600, 3_000)}` },
  { kind: 'rephrase', difficulty: 0.5, write: (pick, random) => `Rephrase this message so it sounds friendly:\n${passage(pick, random, 150, 900)}` },
  { kind: 'arithmetic', difficulty: 1, write: (pick, random) => `What is ${Math.floor(random() * 90 + 10)} * ${Math.floor(random() * 90 + 10)} + ${pick([3, 7, 11, 19])}?` },
  { kind: 'code-small', difficulty: 1.5, write: (pick) => `Write a ${pick(codeLanguages)} function that ${pick(codeTasks)}.` },
  {
    kind: 'code-review',
    difficulty: 3,
    write: (pick, random) =>
      `Find the bugs in this code and fix them:\n\`\`\`ts\n${code(pick, 3 + Math.floor(random() * 6))}\n\`\`\`\nand this one:\n\`\`\`ts\n${code(pick, 2 + Math.floor(random() * 4))}\n\`\`\``,
  },
  { kind: 'proof', difficulty: 3.5, write: (pick) => pick([`Prove that ${pick(theorems)}.`, `Give a rigorous proof that ${pick(theorems)}.`, `Prove: ${pick(theorems)}.`]) },
  { kind: 'design', difficulty: 3, write: (pick) => `Design ${pick(designs)}. Analyze the trade-offs in detail and justify each choice.` },
  {
    kind: 'compare',
    difficulty: 2.5,
    write: (pick) => {
      const [a, b] = pick(pairs)
      return `Compare ${a ?? ''} and ${b ?? ''} step by step and explain why one is better for a startup.`
    },
  },
]

/** Writes the labelled set: `count` examples from `seed`, the same on every machine. */
export function generateRouterSet(count = 480, seed = 6): RouterExample[] {
  const random = mulberry32(seed)
  const pick: Pick = (values) => values[Math.floor(random() * values.length)] as (typeof values)[number]
  const examples: RouterExample[] = []
  for (let n = 0; n < count; n++) {
    const template = pick(templates)
    let prompt = template.write(pick, random)
    let difficulty = template.difficulty
    if (random() < 0.12) {
      prompt = pick(nonLatin)
      difficulty = 0.5
    }
    if (random() < 0.2) {
      const extra = 1 + Math.floor(random() * 3)
      for (let q = 0; q < extra; q++) prompt += ` Also, what is the capital of ${pick(countries)}?`
      difficulty += 0.5 * extra
    }
    if (/[\u0400-\u04ff\u0600-\u06ff\u3040-\u30ff\u4e00-\u9fff]/.test(prompt)) difficulty += 0.8
    if (random() < 0.15) {
      prompt += ' Answer in JSON only, with exactly three keys, and never more than 50 words.'
      difficulty += 0.8
    }
    const history = random() < 0.25 ? Math.floor(random() * 30) : Math.floor(random() * 4)
    if (history > 12) difficulty += 1
    const thinking = random() < 0.15
    if (thinking) difficulty += 0.5
    let label: 0 | 1 = difficulty < goodEnoughBelow ? 1 : 0
    if (random() < flipShare) label = label === 1 ? 0 : 1
    examples.push({ prompt, history, thinking, kind: template.kind, difficulty, label })
  }
  return examples
}
