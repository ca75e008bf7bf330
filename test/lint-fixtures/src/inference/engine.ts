// A downward import: allowed.
import { greeting } from '../shared/text'

export const engine = greeting
