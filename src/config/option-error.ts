/** A bad option, variable or flag: the message names it, the value given and what is allowed. */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}
