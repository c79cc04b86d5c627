/**
 * A client that behaves as IIS Administration's own test suite does
 * (microsoft/IIS.Administration, test/Microsoft.IIS.Administration.Tests): ApiHttpClient sends
 * `Access-Token: Bearer …` and `Accept: application/hal+json` on every request;
 * HttpClientExtensions' Get/Post answer the JSON body only on success and null otherwise;
 * Globals.Success is any 2xx; Utils.GetLink appends a `_links` href to the server's URL and
 * Utils.FollowLink GETs it. Apart from the API root it knows no route: everything else is found
 * by following links. Every response is checked against the OpenAPI document (checkedFetch).
 */
import { checkedFetch } from './openapi-validator.js';

/** A HAL document as the client sees it. */
export type Hal = Record<string, unknown> & { _links?: Record<string, { href?: string }> };

/** Globals.Success: any 2xx. */
export const success = (res: Response): boolean => res.status >= 200 && res.status < 300;

export class IisAdminClient {
  private readonly server: string;

  /**
   * @param apiRoot the API root's URL (`…/api`), the only address the client is given
   * @param headers sent on every request besides the suite's own two (e.g. `Prefer: wait=30`)
   */
  constructor(
    readonly apiRoot: string,
    private readonly token: string,
    private readonly headers: Record<string, string> = {},
  ) {
    this.server = new URL(apiRoot).origin;
  }

  /** HttpClient.SendAsync with the client's default headers; a body is sent as JSON. */
  send(method: string, url: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {
      'Access-Token': `Bearer ${this.token}`,
      Accept: 'application/hal+json',
      ...this.headers,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    return checkedFetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** client.Get(uri): the body on success, null otherwise. */
  async get(url: string): Promise<Hal | null> {
    const res = await this.send('GET', url);
    return success(res) ? ((await res.json()) as Hal) : null;
  }

  /** client.Post(uri, body): the body on success, null otherwise. */
  async post(url: string, body: unknown): Promise<Hal | null> {
    const res = await this.send('POST', url, body);
    return success(res) ? ((await res.json()) as Hal) : null;
  }

  /** client.PostRaw(uri, body): the response itself. */
  postRaw(url: string, body: unknown): Promise<Response> {
    return this.send('POST', url, body);
  }

  /** client.Delete(uri): whether it succeeded. */
  async delete(url: string): Promise<boolean> {
    return success(await this.send('DELETE', url));
  }

  /** The API root, where discovery starts. */
  async root(): Promise<Hal> {
    const root = await this.get(this.apiRoot);
    if (!root) throw new Error(`GET ${this.apiRoot} did not succeed`);
    return root;
  }

  /** Utils.GetLink: the server's URL followed by the link's href. */
  link(obj: Hal, name: string): string {
    const href = obj._links?.[name]?.href;
    if (typeof href !== 'string') throw new Error(`no _links.${name}.href in ${JSON.stringify(obj)}`);
    return `${this.server}${href}`;
  }

  /** Utils.FollowLink: GET the link, null when there is none or the GET fails. */
  followLink(obj: Hal, name: string): Promise<Hal | null> {
    return obj._links?.[name]?.href === undefined ? Promise.resolve(null) : this.get(this.link(obj, name));
  }
}
