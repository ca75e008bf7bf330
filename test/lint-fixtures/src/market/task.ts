import { greeting } from '../shared/text'

export interface Task {
  text: typeof greeting
}
