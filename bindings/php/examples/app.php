<?php

declare(strict_types=1);

// php bin/spikard serve examples/app.php --port 8000 --workers 1

use Spikard\App;
use Spikard\Attribute\ArrayOf;
use Spikard\Attribute\Body;
use Spikard\Attribute\Controller;
use Spikard\Attribute\Field;
use Spikard\Attribute\Get;
use Spikard\Attribute\Post;
use Spikard\Attribute\Query;
use Spikard\HttpException;
use Spikard\Request;
use Spikard\Response;

final class NewItem
{
    public function __construct(
        #[Field(minLength: 1, maxLength: 80)] public string $name,
        #[Field(minimum: 0)] public float $price,
        #[ArrayOf('string')] public array $tags = [],
    ) {
    }
}

#[Controller(prefix: '/items')]
final class ItemController
{
    /** @var array<int, array<string, mixed>> */
    private array $items = [];

    #[Get('/')]
    public function list(#[Query] int $limit = 10): array
    {
        return array_slice(array_values($this->items), 0, $limit);
    }

    #[Get('/{id:int}')]
    public function show(int $id): array
    {
        return $this->items[$id] ?? throw new HttpException(404, "no item $id");
    }

    #[Post('/')]
    #[Body(NewItem::class)]
    public function create(NewItem $item): Response
    {
        $id = count($this->items) + 1;
        $this->items[$id] = ['id' => $id] + get_object_vars($item);
        return Response::json($this->items[$id], 201);
    }
}

$app = new App();
$app->get('/hello', fn () => ['message' => 'Hello, World!']);
$app->get('/users/{id:int}', fn (Request $r) => ['id' => $r->path['id']]);
$app->controller(ItemController::class);
return $app;
