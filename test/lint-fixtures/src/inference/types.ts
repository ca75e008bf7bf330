export interface Request {
  text: string
}
