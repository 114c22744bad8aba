import type { Browser } from 'playwright-core';

/** Where Debian's package puts chromium. */
export declare const CHROMIUM: string;
/** How to get it, for the messages of those that need it. */
export declare const INSTALL_CHROMIUM: string;
/** Whether it is installed. */
export declare function hasChromium(): boolean;
/** Starts it headless, with nothing of its own reaching the network. */
export declare function launchChromium(): Promise<Browser>;
