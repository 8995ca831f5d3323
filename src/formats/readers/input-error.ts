/** A profile file that cannot be read: the message names the format and where it went wrong. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}
