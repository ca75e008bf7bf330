/** Lower-cased word tokens (letters and digits of any script): the unit of matching and of votes. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
}

/** "1 peer", "3 peers", "0 peers": a count with the word in the form the count needs (English). */
export function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`
}
