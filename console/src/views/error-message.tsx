/** An API failure as a person reads it: the field at fault, the API's words, and what to do. */
import { adviceFor, ApiError, UnreachableError } from '../../../client/errors.js';

export function describe(error: unknown): { text: string; advice: string } {
  if (error instanceof ApiError) return { text: error.message, advice: adviceFor(error) };
  if (error instanceof UnreachableError)
    return { text: error.message, advice: 'Check that the API is running.' };
  return { text: error instanceof Error ? error.message : String(error), advice: '' };
}

export function ErrorMessage(props: { error: unknown }) {
  const { text, advice } = describe(props.error);
  return (
    <div role="alert" class="error">
      <p>{text}</p>
      {advice && <p class="advice">{advice}</p>}
    </div>
  );
}
